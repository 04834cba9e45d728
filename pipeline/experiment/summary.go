package experiment

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Summary is one line of `analyze experiments list`.
type Summary struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Owner      string   `json:"owner"`
	SLIs       []string `json:"slis"`
	Flows      []string `json:"flows"`
	Definition string   `json:"definition"`
}

// Summaries lists the spec's experiments in definition order.
func (s *Spec) Summaries() []Summary {
	list := make([]Summary, 0, len(s.Experiments))
	for _, e := range s.Experiments {
		sm := Summary{ID: e.ID, Title: e.Title, Owner: e.Owner, Flows: e.Flows, Definition: e.Pos.String()}
		for _, sli := range e.SLIs {
			sm.SLIs = append(sm.SLIs, sli.Name)
		}
		if sm.Flows == nil {
			sm.Flows = []string{}
		}
		if sm.SLIs == nil {
			sm.SLIs = []string{}
		}
		list = append(list, sm)
	}
	return list
}

// WriteSummaries writes the list as a table.
func WriteSummaries(w io.Writer, list []Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tOWNER\tSLIS\tFLOWS\tTITLE")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Owner, strings.Join(s.SLIs, ","), strings.Join(s.Flows, ","), s.Title)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write list: %w", err)
	}
	return nil
}

// WriteText writes the definition for reading (`analyze experiments show`).
func (e *Experiment) WriteText(out io.Writer) error {
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
