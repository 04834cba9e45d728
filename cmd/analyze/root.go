package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/store"
)

// factory holds what subcommands share, built lazily.
type factory struct {
	IO          *cliutil.IOStreams
	StoreConfig func() store.Config
	// ExperimentsDir is where experiment and flow definitions live
	// (--experiments, $STEADYSTATE_EXPERIMENTS, default "experiments").
	ExperimentsDir string
}

// Spec loads every definition file under ExperimentsDir; a missing
// directory is an empty spec (experiment.LoadDefinitions).
func (f *factory) Spec() (*experiment.Spec, error) {
	return experiment.LoadDefinitions(f.ExperimentsDir)
}

// read connects to ClickHouse, returns what fn reads and closes the
// connection: the body of every command that reads once.
func read[T any](ctx context.Context, f *factory, fn func(*query.Reader) (T, error)) (T, error) {
	r, err := query.Open(ctx, f.StoreConfig())
	if err != nil {
		var zero T
		return zero, err
	}
	defer r.Close()
	return fn(r)
}

// readSpec is read with the definitions loaded first.
func readSpec[T any](ctx context.Context, f *factory, fn func(*experiment.Spec, *query.Reader) (T, error)) (T, error) {
	spec, err := f.Spec()
	if err != nil {
		var zero T
		return zero, err
	}
	return read(ctx, f, func(r *query.Reader) (T, error) { return fn(spec, r) })
}

// runRead is what the commands that read one run of an experiment share
// (compare, replay, report, backlog, export): the experiment argument,
// --run/--since/--until and the clock.
type runRead struct {
	f          *factory
	Experiment string
	Window     query.WindowFlags
	Now        func() time.Time
}

func newRunRead(f *factory) runRead { return runRead{f: f, Now: time.Now} }

// group adds the subcommands to cmd, a command that only groups them.
func group(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.AddCommand(subs...)
	return cmd
}

func newRootCmd(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "analyze",
		Short: "Analyze chaos experiments stored in ClickHouse",
		Long: `analyze reads the events Steadystate stored in ClickHouse.

It owns the schema (migrate), compares the experiment cohort with control,
checks that business flows complete within their windows, and writes
findings reports.

ClickHouse is found at $STEADYSTATE_CLICKHOUSE_ADDR (default 127.0.0.1:9000),
database $STEADYSTATE_CLICKHOUSE_DATABASE (default steadystate).

` + cliutil.ExitCodesHelp,
	}
	cliutil.AddExperimentsFlag(root.PersistentFlags(), &f.ExperimentsDir)
	root.AddCommand(newCmdMigrate(f))
	root.AddCommand(newCmdExport(f, nil))
	root.AddCommand(newCmdReport(f, nil))
	root.AddCommand(newCmdBacklog(f, nil))
	root.AddCommand(newCmdExperiments(f))
	root.AddCommand(newCmdRun(f))
	root.AddCommand(newCmdCompare(f))
	root.AddCommand(newCmdLive(f, nil))
	root.AddCommand(newCmdReplay(f))
	root.AddCommand(newCmdFlows(f))
	root.AddCommand(newCmdWatch(f, nil))
	root.AddCommand(newCmdSettle(f, nil))
	root.AddCommand(newCmdRetention(f))
	return root
}

func run(args []string, ios *cliutil.IOStreams) cliutil.ExitCode {
	f := &factory{IO: ios, StoreConfig: store.NewDefaultConfig}
	ctx, cancel := cliutil.SignalContext()
	defer cancel()
	return cliutil.Execute(ctx, newRootCmd(f), args, ios)
}
