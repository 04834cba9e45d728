package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/experiment"
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

// Spec loads every definition file under ExperimentsDir. A missing
// directory is an empty spec, so commands that can work from telemetry
// alone (compare with default SLIs) still run.
func (f *factory) Spec() (*experiment.Spec, error) {
	if _, err := os.Stat(f.ExperimentsDir); errors.Is(err, fs.ErrNotExist) {
		return &experiment.Spec{}, nil
	}
	spec, err := experiment.LoadDir(f.ExperimentsDir)
	if err != nil {
		return nil, fmt.Errorf("loading definitions from %s: %w", f.ExperimentsDir, err)
	}
	return spec, nil
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
	defDir := os.Getenv("STEADYSTATE_EXPERIMENTS")
	if defDir == "" {
		defDir = "experiments"
	}
	root.PersistentFlags().StringVar(&f.ExperimentsDir, "experiments", defDir,
		"directory of experiment and flow definitions ($STEADYSTATE_EXPERIMENTS)")
	root.AddCommand(newCmdMigrate(f, nil))
	root.AddCommand(newCmdExport(f, nil))
	root.AddCommand(newCmdReport(f, nil))
	root.AddCommand(newCmdBacklog(f, nil))
	root.AddCommand(newCmdExperiments(f))
	root.AddCommand(newCmdRun(f))
	root.AddCommand(newCmdCompare(f, nil))
	root.AddCommand(newCmdLive(f, nil))
	root.AddCommand(newCmdReplay(f))
	root.AddCommand(newCmdFlows(f))
	root.AddCommand(newCmdWatch(f, nil))
	root.AddCommand(newCmdRetention(f))
	return root
}

func run(args []string, ios *cliutil.IOStreams) cliutil.ExitCode {
	f := &factory{IO: ios, StoreConfig: store.NewDefaultConfig}
	ctx, cancel := cliutil.SignalContext()
	defer cancel()
	return cliutil.Execute(ctx, newRootCmd(f), args, ios)
}
