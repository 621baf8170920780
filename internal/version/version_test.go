package version

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	t.Parallel()
	const rev = "0123456789abcdef0123456789abcdef01234567"
	type kv = debug.BuildSetting
	tests := []struct {
		name      string
		bi        *debug.BuildInfo
		release   string
		want      string
		wantShort string
	}{
		{
			name: "no build information", bi: nil,
			want: "metamint (unknown) " + runtime.Version(), wantShort: "(unknown)",
		},
		{
			name: "no module version", bi: &debug.BuildInfo{GoVersion: "go1.26.8"},
			want: "metamint (devel) go1.26.8", wantShort: "(devel)",
		},
		{
			name: "devel", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want: "metamint (devel) go1.26.8", wantShort: "(devel)",
		},
		{
			name: "module version", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}},
			want: "metamint v1.2.0 go1.26.8", wantShort: "v1.2.0",
		},
		{
			name: "revision cut to 12",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: []kv{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}}},
			want: "metamint v1.2.0 go1.26.8 (0123456789ab)", wantShort: "v1.2.0 (0123456789ab)",
		},
		{
			name: "modified",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []kv{{Key: "vcs.modified", Value: "true"}, {Key: "vcs.revision", Value: rev}}},
			want: "metamint (devel) go1.26.8 (0123456789ab, modified)", wantShort: "(devel) (0123456789ab, modified)",
		},
		{
			name: "short revision kept whole",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: []kv{{Key: "vcs.revision", Value: "abc123"}}},
			want: "metamint v1.2.0 go1.26.8 (abc123)", wantShort: "v1.2.0 (abc123)",
		},
		{
			name: "a release build without Git data", release: "v1.3.0",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want: "metamint v1.3.0 go1.26.8", wantShort: "v1.3.0",
		},
		{
			name: "a release name wins over the module version", release: "v1.3.0",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.3.0-rc.1"}, Settings: []kv{{Key: "vcs.revision", Value: rev}}},
			want: "metamint v1.3.0 go1.26.8 (0123456789ab)", wantShort: "v1.3.0 (0123456789ab)",
		},
		{
			name: "a release name without build information", release: "v1.3.0", bi: nil,
			want: "metamint v1.3.0 " + runtime.Version(), wantShort: "v1.3.0",
		},
		{
			name: "modified without a revision",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: []kv{{Key: "vcs.modified", Value: "true"}}},
			want: "metamint v1.2.0 go1.26.8", wantShort: "v1.2.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := fromBuildInfo(tt.bi, tt.release)
			if got := b.String(); got != tt.want {
				t.Errorf("fromBuildInfo(%v, %q).String() = %q; want %q", tt.bi, tt.release, got, tt.want)
			}
			if got := b.Short(); got != tt.wantShort {
				t.Errorf("fromBuildInfo(%v, %q).Short() = %q; want %q", tt.bi, tt.release, got, tt.wantShort)
			}
		})
	}
}

// TestRunningBinary: String and Short describe the test binary itself.
func TestRunningBinary(t *testing.T) {
	t.Parallel()
	s, short := String(), Short()
	if !strings.HasPrefix(s, "metamint ") || !strings.Contains(s, " go1.") {
		t.Errorf("String() = %q; want metamint, a module version and a Go version", s)
	}
	if short == "" || strings.Contains(short, "metamint") || strings.Contains(short, "go1.") {
		t.Errorf("Short() = %q; want the module version without the name and the Go version", short)
	}
	if !strings.HasPrefix(s, "metamint "+strings.SplitN(short, " ", 2)[0]+" ") {
		t.Errorf("String() = %q, Short() = %q; want the same module version", s, short)
	}
}
