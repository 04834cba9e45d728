package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/export"
	"github.com/steadystate/steadystate/pipeline/query"
)

// exportOptions are the flags, filling the request (its Now is set when
// it runs).
type exportOptions struct {
	f   *factory
	Now func() time.Time
	export.Request
}

func newCmdExport(f *factory, runF func(*exportOptions) error) *cobra.Command {
	opts := &exportOptions{f: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "export <experiment>",
		Short: "Write a run's deduplicated events to a Parquet or Arrow file for notebooks",
		Long: `export writes the deduplicated events of one run of an experiment (every
kind: spans, logs, JSON events and alerts) to a columnar file that pandas,
pyarrow, polars or DuckDB read directly. The columns are typed (timestamps,
booleans, numbers) and the attributes are a map column; the schema is
documented in pipeline/export (go doc ./pipeline/export) and notebooks/README.md.

The run is the latest one unless --run names another; --since/--until
choose any window instead. Rows are streamed from ClickHouse and written in
record batches (Parquet row groups) of --batch-rows rows, so memory stays
bounded for runs of any size. A progress bar is drawn on stderr when it is
a terminal.

Formats: parquet (zstd), arrow (Arrow IPC file; needs --out FILE) and
arrow-stream (Arrow IPC stream; works with --out -).`,
		Example: `  analyze export checkout-payment-500 --format parquet
  analyze export checkout-payment-500 --run r-20261121 --format arrow --out run.arrow
  analyze export checkout-payment-500 --since 2026-11-21T10:00:00Z --until 2026-11-21T11:00:00Z --untagged --format parquet --out day.parquet
  analyze export checkout-payment-500 --format arrow-stream --out - | python3 -c 'import pyarrow as pa, sys; print(pa.ipc.open_stream(sys.stdin.buffer).read_all().num_rows)'`,
		Args: cliutil.ExperimentArg("experiment id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ExperimentID, opts.Stdout = args[0], f.IO.Out
			if err := opts.Validate(); err != nil {
				return err
			}
			return cliutil.Run(cmd.Context(), opts, runF, exportRun)
		},
	}
	cliutil.AddWindowFlags(cmd.Flags(), &opts.Window, cliutil.PostRunHelp)
	opts.AddFlags(cmd.Flags())
	return cmd
}

func exportRun(ctx context.Context, opts *exportOptions) error {
	res, err := read(ctx, opts.f, func(r *query.Reader) (export.Result, error) { return exportEvents(ctx, r, opts) })
	if err == nil && res.Path != "-" {
		fmt.Fprintln(opts.f.IO.Out, res.Summary(opts.ExperimentID))
	}
	return err
}

// exportEvents runs the export on r, with a progress bar on a terminal.
func exportEvents(ctx context.Context, r *query.Reader, opts *exportOptions) (export.Result, error) {
	var bar func(int64) export.Progress
	if opts.f.IO.ErrTTY {
		bar = func(total int64) export.Progress { return cliutil.NewProgressBar(opts.f.IO.ErrOut, total, "events") }
	}
	req := opts.Request
	req.Now = opts.Now()
	return export.Run(ctx, r, req, bar)
}
