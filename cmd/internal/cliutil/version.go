package cliutil

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at link time to stamp a release build, e.g.
//
//	go build -ldflags "-X github.com/steadystate/steadystate/cmd/internal/cliutil.version=v1.2.0 \
//	  -X github.com/steadystate/steadystate/cmd/internal/cliutil.commit=$(git rev-parse --short HEAD)" ./cmd/...
//
// Left empty they come from the build information Go records in the
// binary (runtime/debug.ReadBuildInfo): the main module's version and the
// vcs.revision setting, which builds with -buildvcs=false do not have.
var (
	version string
	commit  string
)

// BuildInfo is what --version prints.
type BuildInfo struct {
	Version   string
	Commit    string
	GoVersion string
}

// ReadBuildInfo returns the version, commit and Go version of the running
// binary: the -ldflags values when set, else the recorded build
// information, else "unknown".
func ReadBuildInfo() BuildInfo {
	bi := BuildInfo{Version: version, Commit: commit, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		bi.GoVersion = info.GoVersion
		if bi.Version == "" && info.Main.Version != "" {
			bi.Version = info.Main.Version
		}
		if bi.Commit == "" {
			bi.Commit = vcsRevision(info.Settings)
		}
	}
	if bi.Version == "" {
		bi.Version = "unknown"
	}
	if bi.Commit == "" {
		bi.Commit = "unknown"
	}
	return bi
}

func vcsRevision(settings []debug.BuildSetting) string {
	rev, dirty := "", false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}

// String is the one line --version prints, after the program name.
func (b BuildInfo) String() string {
	return fmt.Sprintf("%s (commit %s, %s)", b.Version, b.Commit, b.GoVersion)
}
