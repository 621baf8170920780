// Package ghsecrets writes GitHub Actions secrets: it reads the public key
// of a repository, an environment or an organization, seals a value to it
// (libsodium's sealed box) and writes the secret, keeping an organization
// secret's visibility and selected repositories.
//
// It speaks GitHub's REST API with net/http and golang.org/x/crypto alone.
// go-github is the field's library, but it is a large API surface for the
// four calls made here, in a binary (the action's image) that every job
// using the action downloads and starts; a few dozen lines of requests keep
// the binary small and every byte that leaves it in view.
//
// Everything GitHub answers is untrusted text: an error quotes GitHub's
// message escaped and cut short, and never holds the token or a value.
package ghsecrets
