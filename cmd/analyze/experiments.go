package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

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
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return experimentsListRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return cmd
}

func checkOutput(o string) error {
	if o != "table" && o != "json" {
		return cliutil.FlagErrorf("--output %q: want table or json", o)
	}
	return nil
}

type experimentSummary struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Owner      string   `json:"owner"`
	SLIs       []string `json:"slis"`
	Flows      []string `json:"flows"`
	Definition string   `json:"definition"`
}

func experimentsListRun(opts *experimentsOptions) error {
	spec, err := opts.f.Spec()
	if err != nil {
		return err
	}
	list := make([]experimentSummary, 0, len(spec.Experiments))
	for _, e := range spec.Experiments {
		s := experimentSummary{ID: e.ID, Title: e.Title, Owner: e.Owner, Flows: e.Flows, Definition: e.Pos.String()}
		for _, sli := range e.SLIs {
			s.SLIs = append(s.SLIs, sli.Name)
		}
		if s.Flows == nil {
			s.Flows = []string{}
		}
		if s.SLIs == nil {
			s.SLIs = []string{}
		}
		list = append(list, s)
	}
	if opts.Output == "json" {
		return writeJSON(opts.f.IO, list)
	}
	tw := tabwriter.NewWriter(opts.f.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tOWNER\tSLIS\tFLOWS\tTITLE")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Owner, strings.Join(s.SLIs, ","), strings.Join(s.Flows, ","), s.Title)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write list: %w", err)
	}
	return nil
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
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return experimentsShowRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
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
	if opts.Output == "json" {
		return writeJSON(opts.f.IO, e)
	}
	out := opts.f.IO.Out
	fmt.Fprintf(out, "%s: %s\n", e.ID, e.Title)
	fmt.Fprintf(out, "owner       %s\ndefined at  %s\nhypothesis  %s\n", e.Owner, e.Pos, e.Hypothesis)
	if e.Window != nil {
		fmt.Fprintf(out, "window      %s .. %s\n", e.Window.Start.Format("2006-01-02T15:04:05Z07:00"), e.Window.End.Format("2006-01-02T15:04:05Z07:00"))
	} else {
		fmt.Fprintln(out, "window      from run records (analyze run start|stop)")
	}
	fmt.Fprintf(out, "split       experiment %.4g, control %.4g (%d cohort rules)\n", e.Cohorts.ExpectedSplit.Experiment, e.Cohorts.ExpectedSplit.Control, len(e.Cohorts.Rules))
	for _, s := range e.SLIs {
		fmt.Fprintf(out, "sli         %s: %s", s.Name, s.Type)
		if s.Quantile > 0 {
			fmt.Fprintf(out, " q=%g", s.Quantile)
		}
		if s.Filter.Service != "" || s.Filter.Operation != "" || len(s.Filter.Attributes) > 0 {
			fmt.Fprintf(out, " filter{service=%q operation=%q attributes=%v}", s.Filter.Service, s.Filter.Operation, s.Filter.Attributes)
		}
		fmt.Fprintf(out, " better=%s", s.Better())
		if s.Tolerance.Absolute != nil {
			fmt.Fprintf(out, " tol.abs=%g", *s.Tolerance.Absolute)
		}
		if s.Tolerance.Relative != nil {
			fmt.Fprintf(out, " tol.rel=%g", *s.Tolerance.Relative)
		}
		fmt.Fprintln(out)
	}
	for _, c := range e.StopConditions {
		fmt.Fprintf(out, "stop        %s %s %g for %s\n", c.SLI, c.Op, c.Threshold, c.For)
	}
	for _, x := range e.Expectations {
		fmt.Fprintf(out, "expects     %s: %s%s %s\n", x.Who, x.SLI, x.Flow, x.Outcome)
	}
	for _, a := range e.ExpectedAlerts {
		fmt.Fprintf(out, "alert       %s within %s severity %s\n", a.Name, a.Within, a.Severity)
	}
	for _, fl := range e.Flows {
		fmt.Fprintf(out, "flow        %s\n", fl)
	}
	return nil
}

func writeJSON(ios *cliutil.IOStreams, v any) error {
	enc := json.NewEncoder(ios.Out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}
