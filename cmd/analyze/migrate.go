package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/retention"
	"github.com/steadystate/steadystate/pipeline/store"
)

// migrate and retention are the two commands that change the database's
// tables instead of reading them; both render ON CLUSTER statements for
// --cluster, which defaults to $STEADYSTATE_CLICKHOUSE_CLUSTER.

type migrateOptions struct {
	f       *factory
	Cluster string
	Print   bool
}

func newCmdMigrate(f *factory) *cobra.Command {
	opts := &migrateOptions{f: f}
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade Steadystate's tables and views in ClickHouse",
		Long: `migrate applies the versioned schema embedded from queries/schema to the
database, recording each version in schema_migrations. Running it again
applies only what is new; it is the only command that writes DDL.

With --print it prints the DDL instead of running it. With --cluster NAME
the DDL is for a ClickHouse cluster: every statement runs ON CLUSTER, the
tables and views are Replicated*MergeTree named <table>_local on every node
(ZooKeeper path /clickhouse/tables/{shard}/<db>/<table>, replica {replica}:
define both macros on every server), and <table> is a Distributed table over
them, so writes spread over the shards (events by cityHash64(event_id)) and
reads see the whole cluster. See deploy/k8s/README.md for the settings the
sink and analyze need there.`,
		Example: `  analyze migrate
  analyze migrate --print --cluster prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return migrateRun(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Cluster, "cluster", "", "render ON CLUSTER DDL with Replicated engines for this cluster (default $STEADYSTATE_CLICKHOUSE_CLUSTER)")
	cmd.Flags().BoolVar(&opts.Print, "print", false, "print the DDL instead of applying it")
	return cmd
}

func migrateRun(cmd *cobra.Command, opts *migrateOptions) error {
	cfg := opts.f.StoreConfig()
	if opts.Cluster == "" {
		opts.Cluster = cfg.Cluster // $STEADYSTATE_CLICKHOUSE_CLUSTER
	}
	if opts.Print {
		script, err := store.MigrationScript(cfg.Database, opts.Cluster)
		if err == nil {
			fmt.Fprintln(opts.f.IO.Out, script)
		}
		return err
	}
	c, err := store.Open(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Migrate(cmd.Context(), store.MigrateOptions{Cluster: opts.Cluster})
	if err == nil {
		res.Write(opts.f.IO.Out, cfg.Database)
	}
	return err
}

type retentionOptions struct {
	f     *factory
	Flags retention.Flags
	Now   func() time.Time
}

func newCmdRetention(f *factory) *cobra.Command {
	return group(&cobra.Command{Use: "retention", Short: "Drop data older than its retention age"}, newCmdRetentionApply(f))
}

func newCmdRetentionApply(f *factory) *cobra.Command {
	opts := &retentionOptions{f: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Drop the day partitions older than each table's retention age",
		Long: `apply drops, by whole UTC days, the partitions of the day-partitioned tables
that lie wholly before now minus the age of their class:

  raw    events (every span, log, event and alert)           --raw, default 30d
  views  cohort_stats, cohort_tally, flow_stages, trace_cohorts_v2 --views, default 400d
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
			cfg, err := opts.Flags.Config(opts.f.StoreConfig().Cluster)
			if err != nil {
				return &cliutil.FlagError{Err: err}
			}
			return retentionRun(cmd, opts, cfg)
		},
	}
	opts.Flags.AddFlags(cmd.Flags())
	return cmd
}

func retentionRun(cmd *cobra.Command, opts *retentionOptions, cfg retention.Config) error {
	st, err := store.Open(cmd.Context(), opts.f.StoreConfig())
	if err != nil {
		return err
	}
	defer st.Close()
	fl := opts.Flags
	drops, err := retention.Apply(cmd.Context(), st, cfg, opts.Now(), fl.DryRun)
	return retention.WriteDrops(opts.f.IO.Out, st.DB, drops, fl.DryRun, fl.Output == "json", err)
}
