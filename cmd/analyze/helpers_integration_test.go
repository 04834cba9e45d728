//go:build integration

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// testDB is a migrated database of its own with a factory pointing at it.
type testDB struct {
	c   *store.Client
	cfg store.Config
}

func newTestDB(tb testing.TB) *testDB {
	tb.Helper()
	cfg := chtest.Config(tb)
	return &testDB{c: chtest.OpenConfig(tb, cfg), cfg: cfg}
}

func (d *testDB) factory(experimentsDir string) (*factory, *cliutil.IOStreams) {
	ios, _, _, _ := cliutil.Test()
	return &factory{IO: ios, StoreConfig: func() store.Config { return d.cfg }, ExperimentsDir: experimentsDir}, ios
}

// insert stores events with the sink's batch path.
func (d *testDB) insert(ctx context.Context, tb testing.TB, events []telemetry.Event) {
	tb.Helper()
	for lo := 0; lo < len(events); lo += 100_000 {
		batch, err := d.c.Conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.events (%s)", d.c.DB, strings.Join(telemetry.Columns, ", ")))
		require.NoError(tb, err)
		var row []any
		for i := lo; i < min(lo+100_000, len(events)); i++ {
			row = events[i].Values(row, 0, int64(i))
			require.NoError(tb, batch.Append(row...))
		}
		require.NoError(tb, batch.Send())
	}
}

// run records a finished run of an experiment.
func (d *testDB) run(ctx context.Context, tb testing.TB, experimentID, runID string, start, end time.Time) {
	tb.Helper()
	// clickhouse-go sends INSERT ... VALUES as a batch; 18.16 wants the
	// explicit column list and the rows through the batch API.
	batch, err := d.c.Conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.runs (run_id, experiment_id, started_ns, ended_ns, operator, note, updated_ns)", d.c.DB))
	require.NoError(tb, err)
	require.NoError(tb, batch.Append(runID, experimentID, uint64(start.UnixNano()), uint64(end.UnixNano()), "alice", "game day", uint64(1)))
	require.NoError(tb, batch.Send())
}

func (d *testDB) scalar(ctx context.Context, t *testing.T, sql string) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, d.c.Conn.QueryRow(ctx, strings.ReplaceAll(sql, "{{DB}}", d.c.DB)).Scan(&n))
	return n
}

// python runs a Python snippet with arguments and returns its stdout.
func python(t *testing.T, code string, args ...string) string {
	t.Helper()
	py := os.Getenv("PYTHON")
	if py == "" {
		py = "python3"
	}
	cmd := exec.Command(py, append([]string{"-c", code}, args...)...)
	out, err := cmd.Output()
	var stderr string
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		stderr = string(ee.Stderr)
	}
	require.NoError(t, err, "python (install the test's Python packages with scripts/pydeps.sh): %s", stderr)
	return strings.TrimSpace(string(out))
}
