package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/experiment"
)

func newCmdExperiments(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "experiments",
		Short: "Validate, list and show experiment definitions",
		Long: `experiments reads the experiment and flow definitions in --experiments
(default ./experiments; see experiments/README.md for the format).`,
	}
	cmd.AddCommand(newCmdExperimentsValidate(f, nil), newCmdExperimentsList(f, nil), newCmdExperimentsShow(f, nil))
	return cmd
}

type experimentsOptions struct {
	f      *factory
	ID     string
	Output string
}

func newCmdExperimentsValidate(f *factory, runF func(*experimentsOptions) error) *cobra.Command {
	opts := &experimentsOptions{f: f}
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
			if runF != nil {
				return runF(opts)
			}
			spec, err := experiment.LoadDir(opts.f.ExperimentsDir)
			if err != nil {
				return fmt.Errorf("%s is invalid:\n%w", opts.f.ExperimentsDir, err)
			}
			fmt.Fprintf(opts.f.IO.Out, "%s: %d experiments, %d flows, all valid\n", opts.f.ExperimentsDir, len(spec.Experiments), len(spec.Flows))
			return nil
		},
	}
}

func newCmdExperimentsList(f *factory, runF func(*experimentsOptions) error) *cobra.Command {
	opts := &experimentsOptions{f: f}
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the defined experiments",
		Example: `  analyze experiments list --output json`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := cliutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return experimentsListRun(opts)
		},
	}
	cliutil.AddOutputFlag(cmd.Flags(), &opts.Output)
	return cmd
}

func experimentsListRun(opts *experimentsOptions) error {
	spec, err := opts.f.Spec()
	if err != nil {
		return err
	}
	list := spec.Summaries()
	return cliutil.Print(opts.f.IO.Out, opts.Output, list, func() error { return experiment.WriteSummaries(opts.f.IO.Out, list) })
}

func newCmdExperimentsShow(f *factory, runF func(*experimentsOptions) error) *cobra.Command {
	opts := &experimentsOptions{f: f}
	cmd := &cobra.Command{
		Use:     "show <experiment>",
		Short:   "Show one experiment's definition",
		Example: `  analyze experiments show checkout-payment-500`,
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.ID = args[0]
			if err := cliutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return experimentsShowRun(opts)
		},
	}
	cliutil.AddOutputFlag(cmd.Flags(), &opts.Output)
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
	return cliutil.Print(opts.f.IO.Out, opts.Output, e, func() error { return e.WriteText(opts.f.IO.Out) })
}
