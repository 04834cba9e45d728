package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/listen"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/settle"
)

type settleOptions struct {
	f        *factory
	Config   settle.Config
	Once     bool
	Listen   string
	LogLevel string
	Insecure bool
}

func newCmdSettle(f *factory, runF func(*settleOptions) error) *cobra.Command {
	opts := &settleOptions{f: f}
	cmd := &cobra.Command{
		Use:   "settle",
		Short: "Count each settled bucket once, ahead of the readers (one replica, beside the sink)",
		Long: `settle fills the settled-count cache (cohort_settled) as the traffic
settles: every --interval it counts the distinct events of each experiment's
10-second buckets, and the untagged traffic's, that are older than 2 minutes
and not cached at their row count yet (the buckets that settled since the
previous pass, and those within --lookback that late or duplicate events
changed). compare, live and report then count only the young tail of what
they read: 20 live watchers starting on an hour of traffic read its cached
counts instead of counting the hour, each.

The cache never decides an answer: a reader uses a cached count only while
the bucket's row count is the one it was counted at, and counts the bucket
itself otherwise. Without settle running every reader still answers
exactly; the first reader of an hour counts it. Passes claim each hour as
readers do, so a reader and the settler do not count one hour twice. Run
one replica; a second only repeats work.

--once runs one pass over --lookback and exits: after loading or replaying
stored traffic, "settle --once --lookback 24h" counts what settled while no
settler ran. --listen serves /metrics (steadystate_settle_*) and /healthz.
SIGINT or SIGTERM stops the loop gracefully.`,
		Example: `  analyze settle
  analyze settle --interval 15s --listen 0.0.0.0:9467 --insecure-listen
  analyze settle --once --lookback 24h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Config = opts.Config.WithDefaults()
			if err := opts.Config.Validate(); err != nil {
				return err
			}
			return cliutil.Run(cmd.Context(), opts, runF, settleRun)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&opts.Config.Interval, "interval", settle.DefaultInterval, "time between passes")
	fl.DurationVar(&opts.Config.Lookback, "lookback", settle.DefaultLookback, "how far behind the settled edge (now - 2m) each pass looks for buckets not cached at their row count")
	fl.IntVar(&opts.Config.Parallel, "parallel", settle.DefaultParallel, "experiments a pass counts at once")
	fl.BoolVar(&opts.Once, "once", false, "run one pass over --lookback and exit")
	fl.StringVar(&opts.Listen, "listen", "", "address of /metrics and /healthz (\"\" to disable)")
	cliutil.AddLogLevelFlag(fl, &opts.LogLevel)
	listen.AddInsecureFlag(fl, &opts.Insecure)
	return cmd
}

func settleRun(ctx context.Context, opts *settleOptions) error {
	log, err := cliutil.NewLogger(opts.f.IO.ErrOut, opts.LogLevel)
	if err != nil {
		return err
	}
	if opts.Listen != "" {
		if err := listen.Check(listen.Listener{Name: "analyze settle (/metrics, /healthz)", Flag: "--listen", Addr: opts.Listen}, opts.Insecure); err != nil {
			return err
		}
	}
	r, err := query.Open(ctx, opts.f.StoreConfig())
	if err != nil {
		return err
	}
	defer r.Close()
	reg := cliutil.NewRegistry()
	s := settle.New(opts.Config, r, reg, log)
	if opts.Once {
		p, err := s.Once(ctx, opts.Config.Lookback)
		if err != nil {
			return fmt.Errorf("settle pass over [%s, %s): %w", p.Since.Format(time.RFC3339), p.Until.Format(time.RFC3339), err)
		}
		_, err = fmt.Fprintf(opts.f.IO.Out, "settled [%s, %s): %d experiments (untagged traffic included), %d buckets counted, in %s\n",
			p.Since.Format(time.RFC3339), p.Until.Format(time.RFC3339), p.Targets, p.Buckets, p.Took.Round(time.Millisecond))
		return err
	}
	if opts.Listen != "" {
		admin, err := cliutil.StartAdmin(opts.Listen, cliutil.AdminOptions{Registry: reg}, log)
		if err != nil {
			return fmt.Errorf("--listen %s: %w", opts.Listen, err)
		}
		defer admin.Stop(5 * time.Second)
	}
	log.Info("settling", "interval", opts.Config.Interval, "lookback", opts.Config.Lookback, "parallel", opts.Config.Parallel, "listen", opts.Listen)
	err = s.Run(ctx)
	log.Info("settle stopped")
	return err
}
