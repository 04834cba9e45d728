package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/experiment"
)

func newCmdExperiments(f *factory) *cobra.Command {
	return group(&cobra.Command{
		Use:   "experiments",
		Short: "Validate, list and show experiment definitions",
		Long: `experiments reads the experiment and flow definitions in --experiments
(default ./experiments; see experiments/README.md for the format).`,
	}, newCmdExperimentsValidate(f), newCmdExperimentsList(f), newCmdExperimentsShow(f))
}

type experimentsOptions struct {
	f      *factory
	ID     string
	Output string
}

func newCmdExperimentsValidate(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check every definition file strictly",
		Long: `validate parses every *.yaml / *.yml file in --experiments strictly and
reports every problem as file:line:col: field: message. It exits 1 when a
file is invalid.`,
		Example: `  analyze experiments validate
  analyze --experiments experiments/examples experiments validate`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			spec, err := experiment.LoadDir(f.ExperimentsDir)
			if err != nil {
				return fmt.Errorf("%s is invalid:\n%w", f.ExperimentsDir, err)
			}
			fmt.Fprintf(f.IO.Out, "%s: %d experiments, %d flows, all valid\n", f.ExperimentsDir, len(spec.Experiments), len(spec.Flows))
			return nil
		},
	}
}

func newCmdExperimentsList(f *factory) *cobra.Command {
	opts := &experimentsOptions{f: f}
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the defined experiments",
		Example: `  analyze experiments list --output json`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return experimentsListRun(opts)
		},
	}
	cliutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func experimentsListRun(opts *experimentsOptions) error {
	spec, err := opts.f.Spec()
	if err != nil {
		return err
	}
	return cliutil.Print(opts.f.IO.Out, opts.Output, spec.Summaries(), experiment.WriteSummaries)
}

func newCmdExperimentsShow(f *factory) *cobra.Command {
	opts := &experimentsOptions{f: f}
	cmd := &cobra.Command{
		Use:     "show <experiment>",
		Short:   "Show one experiment's definition",
		Example: `  analyze experiments show checkout-payment-500`,
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.ID = args[0]
			return experimentsShowRun(opts)
		},
	}
	cliutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func experimentsShowRun(opts *experimentsOptions) error {
	spec, err := opts.f.Spec()
	if err != nil {
		return err
	}
	e, ok := spec.Experiment(opts.ID)
	if !ok {
		return fmt.Errorf("no experiment %q in %s", opts.ID, opts.f.ExperimentsDir)
	}
	return cliutil.Print(opts.f.IO.Out, opts.Output, e, func(w io.Writer, e *experiment.Experiment) error { return e.WriteText(w) })
}
