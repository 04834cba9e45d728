package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/store"
)

func newCmdFlows(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flows",
		Short: "Check that business flows complete within their windows",
		Long: `flows checks the business flows defined beside the experiments (see
experiments/README.md): every item of a flow must pass all its stages within
the flow's window, judged against the ingest watermark.`,
	}
	cmd.AddCommand(newCmdFlowsCheck(f, nil))
	return cmd
}

// addCheckFlags registers the flags flows check and watch share.
func addCheckFlags(fl *pflag.FlagSet, c *flows.Selection) {
	*c = flows.NewDefaultSelection()
	fl.StringVar(&c.Flow, "flow", "", "check only this flow (default: every defined flow)")
	fl.DurationVar(&c.Since, "since", c.Since, "check items whose first event is at most this old")
	fl.StringVar(&c.Config.ConsumerGroup, "consumer-group", c.Config.ConsumerGroup, "the sink's consumer group, whose progress gives the watermark")
	fl.DurationVar(&c.Config.Watermark.Grace, "grace", c.Config.Watermark.Grace, "subtracted from the watermark for events not yet committed")
	fl.DurationVar(&c.Config.Watermark.LagAfter, "lag-after", c.Config.Watermark.LagAfter, "report the pipeline lagging when the watermark is this far behind")
	fl.DurationVar(&c.Config.Watermark.StallAfter, "stall-after", c.Config.Watermark.StallAfter, "report the pipeline stalled after this long without sink progress")
}

// openChecker checks the flags, picks the flows and connects (flows.Open);
// close the client when done.
func openChecker(ctx context.Context, f *factory, sel flows.Selection) (*flows.Checker, *store.Client, error) {
	if err := sel.Validate(); err != nil {
		return nil, nil, err
	}
	spec, err := f.Spec()
	if err != nil {
		return nil, nil, err
	}
	return flows.Open(ctx, f.StoreConfig(), spec, f.ExperimentsDir, sel)
}

type flowsCheckOptions struct {
	f        *factory
	Check    flows.Selection
	Output   string
	MaxStuck int
}

func newCmdFlowsCheck(f *factory, runF func(*flowsCheckOptions) error) *cobra.Command {
	opts := &flowsCheckOptions{f: f}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Report items complete, in flight and stuck per flow, once",
		Long: `check evaluates every flow (or --flow) once over the items whose first
event lies in the last --since, and reports per flow: counts of complete,
in-flight and stuck items (real items; synthetic ones apart), per cohort
and per stage (a funnel), each stuck item with its key, the last stage it
reached, what is missing and how long ago its deadline passed, and the
flow's status: healthy, idle (no real items; synthetic ones complete) or
broken (items stuck, or the flow went silent).

Items are judged only up to the ingest watermark, the event time the sink
has committed (table sink_progress), never against the wall clock: a paused
or lagging pipeline keeps items in flight and is reported by itself under
"pipeline" (state ok, lagging, stalled or unknown).

--output json prints one object, stable for scripts:

  {"generated_at", "since", "until",
   "pipeline": {"state", "message", "consumer_group", "watermark",
                "lag_seconds", "last_progress", "progress_age_seconds",
                "partitions": [...]},
   "flows": [{"flow", "status", "reason", "stages", "within_seconds",
              "severity", "owner", "runbook_url",
              "counts": {"items", "complete", "in_flight", "stuck"},
              "synthetic": {...same...},
              "cohorts": [{"experiment_id", "cohort", "counts"}],
              "funnel": [{"stage", "reached", "stuck_here"}],
              "stuck": [{"key", "last_stage", "last_stage_index", "stuck_at",
                         "missing", "first_seen", "last_seen", "deadline",
                         "stuck_for_seconds", "last_seen_seconds_ago",
                         "experiment_id", "cohort", "synthetic"}],
              "stuck_omitted", "last_started", "last_synthetic_completed",
              "absence": {"period_seconds", "synthetic_only", "firing",
                          "last", "message"}}]}

Times are RFC 3339 UTC. Exit status: 0 when every flow is healthy or idle
and the pipeline is ok, 3 when a flow is broken or the pipeline is not ok,
1 on errors, 2 on bad flags.`,
		Example: `  analyze flows check
  analyze flows check --flow publish --since 30m --output json | jq '.flows[0].stuck[].key'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cliutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return flowsCheckRun(cmd, opts)
		},
	}
	addCheckFlags(cmd.Flags(), &opts.Check)
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "table or json")
	cmd.Flags().IntVar(&opts.MaxStuck, "max-stuck", 1000, "list at most this many stuck items per flow (0: all); the rest are counted in stuck_omitted")
	return cmd
}

func flowsCheckRun(cmd *cobra.Command, opts *flowsCheckOptions) error {
	ch, st, err := openChecker(cmd.Context(), opts.f, opts.Check)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := ch.Check(cmd.Context(), time.Now(), opts.Check.Since)
	if err != nil {
		return err
	}
	rep.LimitStuck(opts.MaxStuck)
	if err := flows.WriteReport(opts.f.IO.Out, rep, opts.Output); err != nil {
		return err
	}
	if problems := rep.Problems(); len(problems) > 0 {
		return &cliutil.VerdictError{Msg: strings.Join(problems, "; ")}
	}
	return nil
}
