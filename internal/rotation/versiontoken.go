package rotation

import (
	"crypto/sha1" //nolint:gosec // G505: for UUID version 5 only
	"encoding/hex"
)

// versionNamespace is the UUID namespace of metamint's version tokens.
var versionNamespace = [16]byte{0x6d, 0x65, 0x74, 0x61, 0x6d, 0x69, 0x6e, 0x74, 0x8a, 0x1e, 0x4c, 0x2b, 0x9f, 0x03, 0x5d, 0x71}

// VersionToken is the ClientRequestToken of a scheduled rotation: a
// name-based (version 5) UUID of the secret's ARN, its AWSCURRENT version
// ID and the version holding StageDiscarded ("" when none). A run retried
// before the rotation finished derives the same token and resumes (nothing
// is minted twice); once AWSCURRENT moved, or a pending version was
// discarded, the next attempt derives a new one, so a broken version never
// comes back.
func VersionToken(arn, currentVersion, discarded string) string {
	h := sha1.New() //nolint:gosec // G401: UUID version 5 is defined on SHA-1; no security rests on it
	h.Write(versionNamespace[:])
	h.Write([]byte(arn + "\n" + currentVersion))
	if discarded != "" {
		h.Write([]byte("\n" + discarded))
	}
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	b := hex.EncodeToString(u[:])
	return b[0:8] + "-" + b[8:12] + "-" + b[12:16] + "-" + b[16:20] + "-" + b[20:32]
}
