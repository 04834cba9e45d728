package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
)

type runOptions struct {
	f          *factory
	Experiment string
	Operator   string
	Note       string
	Now        func() time.Time
}

func newCmdRun(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Record when an experiment runs",
		Long: `run records experiment runs in ClickHouse (the runs table): a run id, its
start and end, the operator and a note. compare, live and report use the
latest run's window unless told otherwise. list shows the recorded runs,
history sets an experiment's runs side by side.`,
	}
	cmd.AddCommand(newCmdRunStart(f, nil), newCmdRunStop(f, nil), newCmdRunList(f, nil), newCmdRunHistory(f, nil))
	return cmd
}

func newCmdRunStart(f *factory, runF func(*runOptions) error) *cobra.Command {
	opts := &runOptions{f: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:     "start <experiment>",
		Short:   "Record that a run of the experiment starts now",
		Example: `  analyze run start checkout-payment-500 --operator alice --note "game day 3"`,
		Args:    cliutil.ExperimentArg("experiment"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Experiment = args[0]
			if runF != nil {
				return runF(opts)
			}
			rd, err := f.Reader(cmd.Context())
			if err != nil {
				return err
			}
			defer rd.Close()
			r, err := rd.StartRun(cmd.Context(), opts.Experiment, opts.Operator, opts.Note, opts.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "started %s of %s at %s\n", r.ID, r.ExperimentID, r.Start.Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Operator, "operator", "", "who runs the experiment")
	cmd.Flags().StringVar(&opts.Note, "note", "", "free text recorded with the run")
	return cmd
}

func newCmdRunStop(f *factory, runF func(*runOptions) error) *cobra.Command {
	opts := &runOptions{f: f, Now: time.Now}
	return &cobra.Command{
		Use:     "stop <experiment>",
		Short:   "Record that the experiment's open run ends now",
		Example: `  analyze run stop checkout-payment-500`,
		Args:    cliutil.ExperimentArg("experiment"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Experiment = args[0]
			if runF != nil {
				return runF(opts)
			}
			rd, err := f.Reader(cmd.Context())
			if err != nil {
				return err
			}
			defer rd.Close()
			r, err := rd.StopRun(cmd.Context(), opts.Experiment, opts.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "stopped %s of %s at %s (%s)\n", r.ID, r.ExperimentID, r.End.Format(time.RFC3339), r.End.Sub(r.Start).Round(time.Second))
			return nil
		},
	}
}
