package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/export"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

type exportOptions struct {
	f            *factory
	ExperimentID string
	Window       postRunWindowFlags
	Format       string
	Out          string
	Untagged     bool
	BatchRows    int
	Now          func() time.Time
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
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ExperimentID = args[0]
			if err := telemetry.ValidateID(opts.ExperimentID); err != nil {
				return cliutil.FlagErrorf("experiment id: %w", err)
			}
			if _, err := export.ParseFormat(opts.Format); err != nil {
				return cliutil.FlagErrorf("--format: %w", err)
			}
			if opts.BatchRows <= 0 {
				return cliutil.FlagErrorf("--batch-rows %d: must be positive", opts.BatchRows)
			}
			if runF != nil {
				return runF(opts)
			}
			return exportRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	addPostRunWindowFlags(cmd, &opts.Window)
	fl.StringVar(&opts.Format, "format", string(export.Parquet), "parquet, arrow or arrow-stream")
	fl.StringVar(&opts.Out, "out", "", "output file, - for stdout (default: <experiment>-<run>.<format>)")
	fl.BoolVar(&opts.Untagged, "untagged", false, "also export untagged traffic (experiment_id '') of the same window")
	fl.IntVar(&opts.BatchRows, "batch-rows", export.DefaultBatchRows, "rows per record batch / Parquet row group")
	return cmd
}

// exportResult is what an export wrote.
type exportResult struct {
	Path   string
	Rows   int64
	Window postRunWindow
}

func exportRun(ctx context.Context, opts *exportOptions) error {
	c, err := store.Open(ctx, opts.f.StoreConfig())
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := exportEvents(ctx, c, opts)
	if err != nil {
		return err
	}
	if res.Path != "-" {
		fmt.Fprintf(opts.f.IO.Out, "wrote %d events of %s (%s to %s) to %s\n", res.Rows, opts.ExperimentID,
			res.Window.Start.Format(time.RFC3339), res.Window.End.Format(time.RFC3339), res.Path)
	}
	return nil
}

func exportEvents(ctx context.Context, c *store.Client, opts *exportOptions) (exportResult, error) {
	format, err := export.ParseFormat(opts.Format)
	if err != nil {
		return exportResult{}, err
	}
	win, err := resolvePostRunWindow(ctx, c, opts.ExperimentID, opts.Window, opts.Now())
	if err != nil {
		return exportResult{}, err
	}
	params := map[string]any{
		"experiment_id": opts.ExperimentID, "since_ns": win.Start.UnixNano(), "until_ns": win.End.UnixNano(), "untagged": b2i(opts.Untagged),
	}
	var bar *progressBar
	if opts.f.IO.ErrTTY {
		var total uint64
		sql, err := c.SQL("analyze/export_count.sql", params)
		if err != nil {
			return exportResult{}, err
		}
		if err := c.Conn.QueryRow(ctx, sql).Scan(&total); err != nil {
			return exportResult{}, fmt.Errorf("count events to export: %w", err)
		}
		bar = newProgressBar(opts.f.IO.ErrOut, int64(total), "events")
	}

	path := opts.Out
	if path == "" {
		name := win.RunID
		if name == "" {
			name = win.Start.Format("20060102T150405Z")
		}
		ext := map[export.Format]string{export.Parquet: "parquet", export.Arrow: "arrow", export.ArrowStream: "arrows"}[format]
		path = fmt.Sprintf("%s-%s.%s", opts.ExperimentID, name, ext)
	}
	var out io.Writer
	var tmp *os.File
	if path == "-" {
		if format == export.Arrow {
			return exportResult{}, cliutil.FlagErrorf("--format arrow writes a seekable file; use --format arrow-stream with --out -")
		}
		out = opts.f.IO.Out
	} else {
		// Write beside the target and rename at the end, so a failed or
		// interrupted export never leaves a truncated file under the name.
		tmp, err = os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
		if err != nil {
			return exportResult{}, fmt.Errorf("create output: %w", err)
		}
		defer func() {
			if tmp != nil {
				_ = tmp.Close()
				_ = os.Remove(tmp.Name())
			}
		}()
		out = tmp
	}

	w, err := export.NewWriter(out, format, export.Options{BatchRows: opts.BatchRows})
	if err != nil {
		return exportResult{}, err
	}
	if err := streamEvents(ctx, c, params, w, bar); err != nil {
		_ = w.Close()
		return exportResult{}, err
	}
	if err := w.Close(); err != nil {
		return exportResult{}, fmt.Errorf("write %s: %w", path, err)
	}
	bar.Done(w.Rows())
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return exportResult{}, fmt.Errorf("write %s: %w", path, err)
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return exportResult{}, fmt.Errorf("write %s: %w", path, err)
		}
		tmp = nil
	}
	return exportResult{Path: path, Rows: w.Rows(), Window: win}, nil
}

// exportBlockRows is the ClickHouse block size of the export query.
const exportBlockRows = 8192

// streamEvents reads the export query row by row (clickhouse-go streams
// blocks) into the writer, which flushes a batch every BatchRows rows.
func streamEvents(ctx context.Context, c *store.Client, params map[string]any, w *export.Writer, bar *progressBar) error {
	// Small blocks: the driver buffers a few decoded blocks ahead of the
	// reader, so the block size is what bounds memory, not the run.
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"max_block_size": exportBlockRows}))
	rows, err := c.Query(ctx, "analyze/export_events.sql", params)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		e                        telemetry.Event
		timeNs, ingestNs         uint64
		kind, cohort, status     string
		synthetic, isError       uint8
		attrK, attrV, resK, resV []string
		kinds                    = map[string]telemetry.Kind{"span": telemetry.KindSpan, "log": telemetry.KindLog, "event": telemetry.KindEvent, "alert": telemetry.KindAlert}
		statuses                 = map[string]telemetry.Status{"unset": telemetry.StatusUnset, "ok": telemetry.StatusOK, "error": telemetry.StatusError}
	)
	for rows.Next() {
		if err := rows.Scan(&e.ID, &timeNs, &ingestNs, &kind, &e.Service, &e.Name, &e.TraceID, &e.SpanID, &e.ParentSpanID,
			&e.Flow, &e.FlowKey, &e.Stage, &e.ExperimentID, &cohort, &synthetic, &status, &isError, &e.ErrorType,
			&e.HTTPStatus, &e.DurationNs, &e.SubjectID, &e.Severity, &attrK, &attrV, &resK, &resV, &e.Body); err != nil {
			return fmt.Errorf("read event row %d: %w", w.Rows()+1, err)
		}
		e.TimeNs, e.IngestNs = int64(timeNs), int64(ingestNs)
		e.Kind, e.Status = kinds[kind], statuses[status]
		if e.Cohort, err = telemetry.ParseCohort(cohort); err != nil {
			return fmt.Errorf("event %s: %w", e.ID, err)
		}
		e.Synthetic, e.IsError = synthetic == 1, isError == 1
		e.AttrKeys, e.AttrValues, e.ResKeys, e.ResValues = attrK, attrV, resK, resV
		if err := w.Append(&e); err != nil {
			return err
		}
		bar.Set(w.Rows())
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("export interrupted: %w", err)
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
