//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/internal/testkit/fixture"
)

// The export holds exactly the distinct events ClickHouse has for the run
// (the fixture repeats every 20th event), typed, with cohort and attributes,
// and pyarrow reads it.
func TestExportParquetAndArrowReadByPyarrow(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db := newTestDB(t)
	fx := fixture.DefaultOptions()
	fx.ExperimentID = "export-exp"
	gen := fixture.Generate(fx)
	db.insert(ctx, t, gen.Events)
	db.run(ctx, t, fx.ExperimentID, "r1", fx.Start, fx.Start.Add(fx.Run))

	want := db.scalar(ctx, t, fmt.Sprintf(`SELECT uniqExact(event_id) FROM {{DB}}.events WHERE experiment_id = '%s'
		AND event_time_ns >= %d AND event_time_ns < %d`, fx.ExperimentID, fx.Start.UnixNano(), fx.Start.Add(fx.Run).UnixNano()))
	raw := db.scalar(ctx, t, fmt.Sprintf(`SELECT count() FROM {{DB}}.events WHERE experiment_id = '%s'
		AND event_time_ns >= %d AND event_time_ns < %d`, fx.ExperimentID, fx.Start.UnixNano(), fx.Start.Add(fx.Run).UnixNano()))
	require.Greater(t, raw, want, "the run has duplicate rows the export must drop")

	dir := t.TempDir()
	for _, format := range []string{"parquet", "arrow"} {
		t.Run(format, func(t *testing.T) {
			f, ios := db.factory("")
			out := filepath.Join(dir, "run."+format)
			cmd := newCmdExport(f, nil)
			// Small batches: the file must come out the same in many row groups.
			cmd.SetArgs([]string{fx.ExperimentID, "--format", format, "--out", out, "--batch-rows", "1000"})
			require.NoError(t, cmd.ExecuteContext(ctx))
			assert.Contains(t, ios.Out.(fmt.Stringer).String(), fmt.Sprintf("wrote %d events of export-exp", want))

			got := python(t, `
import json, sys
import pyarrow as pa, pyarrow.parquet as pq, pyarrow.ipc as ipc
path, fmt = sys.argv[1], sys.argv[2]
if fmt == "parquet":
    t = pq.read_table(path)
    groups = pq.ParquetFile(path).num_row_groups
else:
    r = ipc.open_file(path)
    t = r.read_all()
    groups = r.num_record_batches
df = t.to_pandas()
print(json.dumps({
    "rows": t.num_rows,
    "distinct": int(df["event_id"].nunique()),
    "groups": groups,
    "types": {f.name: str(f.type) for f in t.schema},
    "cohorts": {k: int(v) for k, v in df["cohort"].value_counts().items()},
    "errors": int(df.loc[df["kind"] == "span", "is_error"].sum()),
    "regions": sorted({dict(a).get("region", "") for a in df["attributes"]}),
}))`, out, format)
			var res struct {
				Rows, Distinct, Groups int
				Types                  map[string]string
				Cohorts                map[string]int
				Errors                 int
				Regions                []string
			}
			require.NoError(t, json.Unmarshal([]byte(got), &res), got)
			assert.Equal(t, int(want), res.Rows, "pyarrow reads as many rows as ClickHouse has distinct events")
			assert.Equal(t, res.Rows, res.Distinct, "no duplicates")
			assert.Equal(t, (res.Rows+999)/1000, res.Groups, "streamed in batches of 1000")
			assert.Equal(t, "timestamp[ns, tz=UTC]", res.Types["time"])
			assert.Equal(t, "bool", res.Types["is_error"])
			assert.Equal(t, "double", res.Types["duration_ms"])
			assert.Equal(t, "uint16", res.Types["http_status"])
			assert.Contains(t, res.Types["attributes"], "map<string, string")

			wantCohorts := map[string]int{}
			wantErrors := 0
			seen := map[string]bool{}
			for _, e := range gen.Events {
				if seen[e.ID] || e.ExperimentID != fx.ExperimentID || e.TimeNs < fx.Start.UnixNano() || e.TimeNs >= fx.Start.Add(fx.Run).UnixNano() {
					continue
				}
				seen[e.ID] = true
				wantCohorts[e.Cohort.String()]++
				if e.IsError {
					wantErrors++
				}
			}
			assert.Equal(t, wantCohorts, res.Cohorts)
			assert.Equal(t, wantErrors, res.Errors)
			assert.Equal(t, []string{"", "eu", "us"}, res.Regions, "attributes survive as a map (flow events have no region)")
		})
	}

	// Untagged traffic of the window comes along on request only.
	f, _ := db.factory("")
	out := filepath.Join(dir, "untagged.parquet")
	cmd := newCmdExport(f, nil)
	cmd.SetArgs([]string{fx.ExperimentID, "--run", "r1", "--untagged", "--out", out})
	require.NoError(t, cmd.ExecuteContext(ctx))
	got := python(t, `import sys, pyarrow.parquet as pq; t = pq.read_table(sys.argv[1]).to_pandas(); print((t["experiment_id"] == "").sum())`, out)
	assert.NotEqual(t, "0", got)

	cmd = newCmdExport(f, nil)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs([]string{fx.ExperimentID, "--run", "nope", "--out", filepath.Join(dir, "x.parquet")})
	require.EqualError(t, cmd.ExecuteContext(ctx), `experiment export-exp has no run "nope" (runs: r1)`)

	// The Arrow file format needs a seekable file: to stdout it is a usage
	// error (exit 2), said before anything is written.
	f, ios := db.factory("")
	cmd = newCmdExport(f, nil)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs([]string{fx.ExperimentID, "--format", "arrow", "--out", "-"})
	err := cmd.ExecuteContext(ctx)
	require.ErrorContains(t, err, "--format arrow writes a seekable file; use --format arrow-stream with --out -")
	assert.Equal(t, cliutil.ExitUsage, cliutil.Code(err))
	assert.Empty(t, ios.Out.(fmt.Stringer).String())
}
