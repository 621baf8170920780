// Package version says which build of metamint is running, from what go
// build recorded in the binary: the module version, the Go version and the
// VCS revision. The CLI prints it (metamint version) and the Lambda logs it,
// so both name a build the same way.
//
// A build made outside a Git checkout (the Dockerfile's, which copies no
// .git) records no version; the release builds name it with the linker
// flag Flag returns.
package version

import (
	"runtime"
	"runtime/debug"
)

// String returns the version metamint version prints:
//
//	metamint <module version> <Go version> (<revision>[, modified])
//
// The revision is cut to 12 characters, ", modified" says the checkout had
// uncommitted changes, and the part in parentheses is left out when go build
// recorded no revision (a build outside a checkout, or with -buildvcs=false).
// The module version is "(devel)" when the build has none, and "(unknown)"
// when the binary holds no build information at all.
func String() string { return fromBuildInfo(read(), release).String() }

// Short returns the version for a log record: the module version and, when
// known, the revision, as in String, without the program's name and the Go
// version, such as "v1.2.0 (0123456789ab)".
func Short() string { return fromBuildInfo(read(), release).Short() }

// release is the version a release build names with Flag; "" otherwise.
var release string

// releaseSymbol is release's name for the linker's -X.
const releaseSymbol = "github.com/metamint/metamint/internal/version.release"

// Flag is the linker flag that names a build v, as in
// go build -ldflags "-X github.com/metamint/metamint/internal/version.release=v1.2.0".
// The name stands in place of the module version go build recorded.
func Flag(v string) string { return "-X " + releaseSymbol + "=" + v }

// read returns the build information of the running binary, or nil.
func read() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}

// build is what a version string is made of.
type build struct {
	module    string // the main module's version, "(devel)" or "(unknown)"
	goVersion string
	revision  string // at most 12 characters; "" when unknown
	modified  bool
}

// fromBuildInfo reads bi, which is nil when the binary holds no build
// information; rel, when not "", is the version the build was named with
// (Flag).
func fromBuildInfo(bi *debug.BuildInfo, rel string) build {
	b := build{module: rel, goVersion: runtime.Version()}
	if bi == nil {
		if b.module == "" {
			b.module = "(unknown)"
		}
		return b
	}
	b.goVersion = bi.GoVersion
	if b.module == "" {
		b.module = bi.Main.Version
	}
	if b.module == "" {
		b.module = "(devel)"
	}
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			b.revision = kv.Value
		case "vcs.modified":
			b.modified = kv.Value == "true"
		}
	}
	if len(b.revision) > 12 {
		b.revision = b.revision[:12]
	}
	return b
}

func (b build) String() string {
	s := "metamint " + b.module + " " + b.goVersion
	if r := b.revisionPart(); r != "" {
		s += " " + r
	}
	return s
}

func (b build) Short() string {
	if r := b.revisionPart(); r != "" {
		return b.module + " " + r
	}
	return b.module
}

// revisionPart is "(<revision>[, modified])", or "" without a revision.
func (b build) revisionPart() string {
	if b.revision == "" {
		return ""
	}
	if b.modified {
		return "(" + b.revision + ", modified)"
	}
	return "(" + b.revision + ")"
}
