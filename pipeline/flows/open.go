package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/store"
)

// Selection is what `analyze flows check` and `analyze watch` check: the
// flow (every defined flow when ""), the items whose first event is at
// most Since old, and the checker's config.
type Selection struct {
	Flow   string
	Since  time.Duration
	Config Config
}

// NewDefaultSelection is every flow over the last hour, with the default
// config.
func NewDefaultSelection() Selection {
	return Selection{Since: time.Hour, Config: NewDefaultConfig()}
}

// Validate checks the settings; a bad one is a *query.UsageError.
func (sel Selection) Validate() error {
	if sel.Since <= 0 {
		return query.Usagef("--since %s: must be positive", sel.Since)
	}
	if err := sel.Config.Validate(); err != nil {
		return &query.UsageError{Err: err}
	}
	return nil
}

// Open validates sel, picks its flows from spec (Pick; dir is where the
// definitions came from, for the errors) and connects to ClickHouse with
// cfg; close the client when done. Bad settings and an unknown flow are
// *query.UsageError.
func Open(ctx context.Context, cfg store.Config, spec *experiment.Spec, dir string, sel Selection) (*Checker, *store.Client, error) {
	if err := sel.Validate(); err != nil {
		return nil, nil, err
	}
	list, err := Pick(spec, sel.Flow, dir)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	ch, err := NewChecker(sel.Config, st, list)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return ch, st, nil
}

// Pick is spec.PickFlows with the errors said for the command line: no
// flows defined in dir, or (a *query.UsageError) no flow called name.
func Pick(spec *experiment.Spec, name, dir string) ([]experiment.Flow, error) {
	list, err := spec.PickFlows(name)
	var unknown *experiment.UnknownFlowError
	switch {
	case errors.Is(err, experiment.ErrNoFlows):
		return nil, fmt.Errorf("no flows defined in %s (see experiments/README.md, \"Flow reference\")", dir)
	case errors.As(err, &unknown):
		return nil, query.Usagef("--flow %q: no such flow in %s; defined: %s", name, dir, strings.Join(unknown.Defined, ", "))
	}
	return list, err
}

// WriteReport writes rep as the table of `analyze flows check`, or with
// format "json" as its documented JSON object.
func WriteReport(w io.Writer, rep *Report, format string) error {
	if format != "json" {
		return WriteTable(w, rep)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
