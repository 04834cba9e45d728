package main

import (
	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
)

type factory struct {
	IO *cliutil.IOStreams
}

func newRootCmd(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "ingest",
		Short: "Receive telemetry into Kafka and sink it into ClickHouse",
		Long: `ingest is Steadystate's data path.

  serve  receives OTLP traces and logs (gRPC 4317, HTTP 4318) and JSON events
         (POST /v1/events), tags each with its experiment and cohort, and
         writes them to Kafka; a request is answered 200 only once Kafka
         acknowledged every record.
  sink   consumes Kafka into ClickHouse at least once, committing offsets
         only after the insert; undecodable records go to a dead-letter topic.

Kafka is found at $STEADYSTATE_KAFKA_BROKERS (default 127.0.0.1:9092) and
ClickHouse at $STEADYSTATE_CLICKHOUSE_ADDR (default 127.0.0.1:9000). The
schema is created by "analyze migrate".

` + cliutil.ExitCodesHelp,
	}
	root.AddCommand(newCmdServe(f), newCmdSink(f))
	root.AddCommand(newCmdSynth(f))
	return root
}

func run(args []string, ios *cliutil.IOStreams) cliutil.ExitCode {
	ctx, cancel := cliutil.SignalContext()
	defer cancel()
	return cliutil.Execute(ctx, newRootCmd(&factory{IO: ios}), args, ios)
}
