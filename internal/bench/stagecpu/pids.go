package stagecpu

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// StatePID is the pid of an engine of the local stack ("kafka",
// "clickhouse"), read from <state>/<engine>/<engine>.pid as
// deploy/local writes it, where <state> is $STEADYSTATE_STATE_DIR or
// .state (the Makefile's default, relative to the working directory); 0
// when there is no such file.
func StatePID(engine string) int {
	state := os.Getenv("STEADYSTATE_STATE_DIR")
	if state == "" {
		state = ".state"
	}
	return PIDFile(filepath.Join(state, engine, engine+".pid"))
}

// PIDFile reads a pid file; 0 when it is missing or holds no number.
func PIDFile(path string) int {
	b, err := os.ReadFile(path) //nolint:gosec // G304: pid files of the operator's own state directory
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// Median of xs (the mean of the middle two for an even count), 0 for
// none; xs is not reordered.
func Median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
