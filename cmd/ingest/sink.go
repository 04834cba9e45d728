package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/listen"
	"github.com/steadystate/steadystate/pipeline/sink"
	"github.com/steadystate/steadystate/pipeline/store"
)

type sinkOptions struct {
	f      *factory
	Sink   sink.Config
	Admin  cliutil.AdminFlags
	Memory memoryBudget
	// Compression of the insert blocks (--clickhouse-compression).
	Compression string
}

func newCmdSink(f *factory) *cobra.Command {
	opts := &sinkOptions{f: f, Sink: sink.NewDefaultConfig(), Memory: sinkMemory}
	cmd := &cobra.Command{
		Use:   "sink",
		Short: "Consume events from Kafka into ClickHouse, at least once",
		Long: `sink reads the events topic as a consumer group, batches records by rows,
bytes and age, inserts each batch into ClickHouse and commits the offsets only
after the insert succeeded. A failed insert is retried with the same rows
until it succeeds; records that can never be inserted go to the dead-letter
topic with their source partition, offset and error. On SIGTERM it stops
fetching, flushes, commits and exits 0.

Run "analyze migrate" first. Several sinks with one --group share the
partitions.`,
		Example: `  ingest sink
  ingest sink --group steadystate-sink --max-age 500ms`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return sinkRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	opts.Sink.AddFlags(fl)
	fl.StringVar(&opts.Compression, "clickhouse-compression", "auto", "compression of the insert blocks: none, lz4, zstd, or auto (none when ClickHouse is on this host, lz4 otherwise)")
	cliutil.AddAdminFlags(fl, &opts.Admin, "127.0.0.1:9465")
	addMemoryFlag(fl, &opts.Memory)
	return cmd
}

func sinkRun(ctx context.Context, opts *sinkOptions) error {
	if err := opts.Memory.apply(); err != nil {
		return err
	}
	log, err := cliutil.NewLogger(opts.f.IO.ErrOut, opts.Admin.LogLevel)
	if err != nil {
		return err
	}
	if err := listen.Check(listen.Listener{Name: "sink admin (/metrics, /healthz, pprof)", Flag: "--admin", Addr: opts.Admin.Addr}, opts.Admin.Insecure); err != nil {
		return err
	}
	stCfg := store.NewDefaultConfig()
	stCfg.Compression = opts.Compression
	st, err := store.Open(ctx, stCfg)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := cliutil.NewRegistry()
	s, err := sink.New(opts.Sink, sink.Settings{Logger: log, Registry: reg}, st)
	if err != nil {
		return err
	}
	admin, err := opts.Admin.Start(reg, func(ctx context.Context) error {
		if err := st.Conn.Ping(ctx); err != nil {
			return fmt.Errorf("clickhouse: %w", err)
		}
		if err := bus.Ping(ctx, opts.Sink.Brokers); err != nil {
			return fmt.Errorf("kafka: %w", err)
		}
		return nil
	}, log)
	if err != nil {
		return err
	}
	log.Info("sink running", "topic", opts.Sink.Topic, "group", opts.Sink.Group, "database", st.DB, "compression", stCfg.CompressionMethod(), "admin", opts.Admin.Addr)
	runErr := s.Run(ctx)
	admin.Stop(5 * time.Second)
	if runErr != nil {
		return runErr
	}
	log.Info("sink stopped cleanly")
	return nil
}
