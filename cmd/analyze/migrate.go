package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/pipeline/store"
)

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
