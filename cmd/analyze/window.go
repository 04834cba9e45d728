package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/store"
)

// addWindowFlags registers --run, --since and --until, which
// query.Reader.ResolveWindow reads.
func addWindowFlags(cmd *cobra.Command, wf *query.WindowFlags, runHelp string) {
	cmd.Flags().StringVar(&wf.Run, "run", "", runHelp)
	cmd.Flags().StringVar(&wf.Since, "since", "", "window start: RFC 3339 time or a duration before now (30m)")
	cmd.Flags().StringVar(&wf.Until, "until", "", "window end: RFC 3339 time or a duration before now (default: now)")
}

// openReader connects to ClickHouse; close the client when done.
func openReader(ctx context.Context, f *factory) (*query.Reader, *store.Client, error) {
	c, err := store.Open(ctx, f.StoreConfig())
	if err != nil {
		return nil, nil, err
	}
	return query.New(c), c, nil
}

// lookupExperiment returns the definition of id, or nil when there is none
// (compare then uses the default SLIs).
func lookupExperiment(f *factory, id string) (*experiment.Experiment, error) {
	spec, err := f.Spec()
	if err != nil {
		return nil, err
	}
	e, _ := spec.Experiment(id)
	return e, nil
}

// definitionWindow is the window written in a definition, or nil.
func definitionWindow(e *experiment.Experiment) *query.Window {
	if e == nil || e.Window == nil {
		return nil
	}
	return &query.Window{Since: e.Window.Start, Until: e.Window.End}
}
