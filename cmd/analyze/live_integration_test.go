//go:build integration

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// analyze live as the program runs it: --duration ends a healthy session
// with exit 0 after about that long, and --exit-on-stop ends it with exit
// 3 and the stop condition as the one error line once the experiment
// cohort's errors are above the stop condition.
func TestLiveDurationAndExitOnStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db := newTestDB(t)
	expDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(expDir, "live.yaml"), []byte(liveWebExperiment), 0o644))
	insert := liveInserter(ctx, t, db)
	live := func(args ...string) (cliutil.ExitCode, string, string, time.Duration) {
		t.Helper()
		f, ios := db.factory(expDir)
		start := time.Now()
		code := cliutil.Execute(ctx, newRootCmd(f), append([]string{"--experiments", expDir, "live", "live-web-exp", "--since", "10m", "--interval", "200ms"}, args...), ios)
		return code, ios.Out.(fmt.Stringer).String(), ios.ErrOut.(fmt.Stringer).String(), time.Since(start)
	}

	insert(telemetry.CohortControl, 300, 3)
	insert(telemetry.CohortExperiment, 100, 1)
	code, out, errOut, took := live("--duration", "1500ms", "--exit-on-stop")
	require.Equal(t, cliutil.ExitOK, code, errOut)
	assert.GreaterOrEqual(t, took, 1500*time.Millisecond, "ran for --duration")
	assert.Less(t, took, 30*time.Second, "ended after --duration")
	assert.GreaterOrEqual(t, strings.Count(out, `"verdict"`), 2, "a JSON line per look on a pipe:\n%s", out)

	insert(telemetry.CohortExperiment, 150, 150)
	code, _, errOut, _ = live("--duration", "60s", "--exit-on-stop")
	assert.Equal(t, cliutil.ExitVerdict, code, errOut)
	assert.True(t, strings.HasSuffix(errOut, "\nanalyze: error: stop experiment live-web-exp: checkout_errors is 0.604, above 0.2\n"), errOut)
}
