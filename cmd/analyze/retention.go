package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/retention"
	"github.com/steadystate/steadystate/pipeline/store"
)

type retentionOptions struct {
	f      *factory
	Config retention.Config
	DryRun bool
	Output string
	Now    func() time.Time
}

func newCmdRetention(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retention",
		Short: "Drop data older than its retention age",
	}
	cmd.AddCommand(newCmdRetentionApply(f))
	return cmd
}

func newCmdRetentionApply(f *factory) *cobra.Command {
	opts := &retentionOptions{f: f, Config: retention.NewDefaultConfig(), Now: time.Now}
	var ages retention.Ages
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Drop the day partitions older than each table's retention age",
		Long: `apply drops, by whole UTC days, the partitions of the day-partitioned tables
that lie wholly before now minus the age of their class:

  raw    events (every span, log, event and alert)           --raw, default 30d
  views  cohort_stats, cohort_tally, flow_stages, trace_cohorts --views, default 400d
  cache  cohort_settled                                       --cache, default 400d

An age of 0 keeps a class forever. Runs and sink progress are kept (they
are tiny and not partitioned). ClickHouse 18.16 has no TTL, so this is
ALTER TABLE ... DROP PARTITION; on a cluster (--cluster, default
$STEADYSTATE_CLICKHOUSE_CLUSTER) it runs ON CLUSTER on the replicated
<table>_local tables. Run it daily (cron, a Kubernetes CronJob).`,
		Example: `  analyze retention apply --dry-run
  analyze retention apply --raw 14d --views 180d --cache 180d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Config.SetAges(ages); err != nil {
				return cliutil.FlagErrorf("%v", err)
			}
			if opts.Config.Cluster == "" {
				opts.Config.Cluster = opts.f.StoreConfig().Cluster
			}
			if err := opts.Config.Validate(); err != nil {
				return cliutil.FlagErrorf("%v", err)
			}
			if opts.Output != "text" && opts.Output != "json" {
				return cliutil.FlagErrorf("--output %q: want text or json", opts.Output)
			}
			return retentionRun(cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&ages.Raw, "raw", "", "age of raw events (e.g. 30d, 720h; 0 keeps forever)")
	fl.StringVar(&ages.Views, "views", "", "age of the aggregate views")
	fl.StringVar(&ages.Cache, "cache", "", "age of the caches")
	fl.StringVar(&opts.Config.Cluster, "cluster", "", "ClickHouse cluster the schema was migrated for (default $STEADYSTATE_CLICKHOUSE_CLUSTER)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "list the partitions without dropping them")
	fl.StringVarP(&opts.Output, "output", "o", "text", "text or json")
	return cmd
}

func retentionRun(cmd *cobra.Command, opts *retentionOptions) error {
	st, err := store.Open(cmd.Context(), opts.f.StoreConfig())
	if err != nil {
		return err
	}
	defer st.Close()
	drops, err := retention.Apply(cmd.Context(), st, opts.Config, opts.Now(), opts.DryRun)
	return retention.WriteDrops(opts.f.IO.Out, st.DB, drops, opts.DryRun, opts.Output == "json", err)
}
