package analysis

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/steadystate/steadystate/pipeline/stats"
)

// WriteTable renders a result for people: a header with the window,
// cohorts, sample-ratio and blast-radius status, a STOP banner when a stop
// condition holds, and one row per metric.
func WriteTable(w io.Writer, r *Result) error {
	var b strings.Builder
	if r.Stop {
		for _, s := range r.StopConditions {
			if s.Holds {
				fmt.Fprintf(&b, "!!! STOP THE EXPERIMENT: %s is %s, %s %s", s.SLI, fmtNum(s.Value), s.Op, fmtNum(s.Threshold))
				if s.For != "" {
					fmt.Fprintf(&b, " for %s", s.For)
				}
				b.WriteString(" !!!\n")
			}
		}
	}
	title := r.ExperimentID
	if r.Title != "" {
		title += ": " + r.Title
	}
	fmt.Fprintf(&b, "%s\n", title)
	fmt.Fprintf(&b, "window   %s .. %s (%s)", r.Window.Since.Format(time.RFC3339), r.Window.Until.Format(time.RFC3339), r.Window.Duration().Round(time.Second))
	if r.Run != nil {
		fmt.Fprintf(&b, "  run %s", r.Run.ID)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "verdict  %s", strings.ToUpper(string(r.Verdict)))
	if r.Provisional {
		b.WriteString(" (provisional)")
	}
	fmt.Fprintf(&b, "  [%s, alpha %g, %s adjustment]\n", r.Mode, r.Alpha, r.Adjustment)
	if r.Reason != "" {
		fmt.Fprintf(&b, "         %s\n", r.Reason)
	}
	fmt.Fprintf(&b, "cohorts  control %d, experiment %d events\n", r.Cohorts.Control, r.Cohorts.Experiment)
	unit := r.Unit
	if unit == "" {
		unit = "event"
	}
	if unit == "event" {
		b.WriteString("unit     event (no randomization unit known: every event counts as independent)\n")
	} else {
		fmt.Fprintf(&b, "unit     %s (ratio SLIs: cluster-robust variance over units; n below is events/units)\n", unit)
	}
	if t := r.Tagging; t != nil {
		fmt.Fprintf(&b, "tagged   directly %d, by trace at ingest %d, by trace in ClickHouse %d events (control %d/%d/%d, experiment %d/%d/%d)\n",
			t.Direct.Control+t.Direct.Experiment, t.TraceIngest.Control+t.TraceIngest.Experiment,
			t.TraceClickHouse.Control+t.TraceClickHouse.Experiment,
			t.Direct.Control, t.TraceIngest.Control, t.TraceClickHouse.Control,
			t.Direct.Experiment, t.TraceIngest.Experiment, t.TraceClickHouse.Experiment)
	}
	fmt.Fprintf(&b, "split    %.2f%% experiment", 100*r.SRM.ObservedExperimentShare)
	if r.SRM.Basis != "" {
		fmt.Fprintf(&b, " of %s", r.SRM.Basis)
	}
	switch {
	case r.SRM.Test == "none":
		b.WriteString("; no expected split, SRM not checked\n")
	case r.SRM.Mismatch:
		fmt.Fprintf(&b, ", planned %.2f%%: SAMPLE RATIO MISMATCH, p=%.2g\n", 100*r.SRM.ExpectedExperimentShare, r.SRM.PValue)
	default:
		fmt.Fprintf(&b, ", planned %.2f%%: ok, p=%.2g\n", 100*r.SRM.ExpectedExperimentShare, r.SRM.PValue)
	}
	if br := r.BlastRadius; br != nil {
		status := "ok"
		switch br.Verdict {
		case stats.VerdictFail:
			status = "DEGRADED"
		case stats.VerdictInsufficientData:
			status = "no baseline"
		case stats.VerdictInconclusive:
			status = "inconclusive"
		}
		fmt.Fprintf(&b, "blast    outside the cohort: error rate %s before, %s during (%s, p=%.2g)",
			fmtRatio(br.ErrorRateBefore), fmtRatio(br.ErrorRateDuring), status, br.PValue)
		if br.Degraded && len(br.Services) > 0 {
			fmt.Fprintf(&b, "; worst: %s", br.Services[0].Service)
		}
		b.WriteString("\n")
	}
	for _, s := range r.StopConditions {
		if s.Holds {
			continue
		}
		fmt.Fprintf(&b, "stop     %s %s %s: now %s", s.SLI, s.Op, fmtNum(s.Threshold), fmtNum(s.Value))
		if s.Crossed {
			fmt.Fprintf(&b, " (crossed, must hold %s)", s.For)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tCONTROL\tEXPERIMENT\tEFFECT\tINTERVAL\tTEST\tP\tALLOWED\tVERDICT")
	for i := range r.Metrics {
		m := &r.Metrics[i]
		rel := ""
		if m.Effect.Relative != nil {
			rel = fmt.Sprintf(" (%+.1f%%)", 100**m.Effect.Relative)
		}
		lo, hi := fmtValue(m.Unit, m.CI.Lower, true), fmtValue(m.Unit, m.CI.Upper, true)
		if !m.CI.LowerBounded {
			lo = "-inf"
		}
		if !m.CI.UpperBounded {
			hi = "+inf"
		}
		verdict := string(m.Verdict)
		if m.Provisional {
			verdict += "*"
		}
		cn, en := fmt.Sprint(m.Control.N), fmt.Sprint(m.Experiment.N)
		if m.Control.Units > 0 || m.Experiment.Units > 0 {
			cn, en = fmt.Sprintf("%d/%du", m.Control.N, m.Control.Units), fmt.Sprintf("%d/%du", m.Experiment.N, m.Experiment.Units)
		}
		fmt.Fprintf(tw, "%s\t%s (n=%s)\t%s (n=%s)\t%s%s\t[%s, %s]\t%s\t%s\t%s\t%s\n",
			m.Name, fmtValue(m.Unit, m.Control.Value, false), cn, fmtValue(m.Unit, m.Experiment.Value, false), en,
			fmtValue(m.Unit, m.Effect.Absolute, true), rel, lo, hi, m.Test, PText(m), fmtValue(m.Unit, m.Tolerance.Allowed, false), verdict)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	var notes strings.Builder
	for _, m := range r.Metrics {
		if m.Note != "" {
			fmt.Fprintf(&notes, "  %s: %s\n", m.Name, m.Note)
		}
		for _, c := range m.VerdictChanges {
			fmt.Fprintf(&notes, "  %s: %s %s -> %s: %s\n", m.Name, c.At.UTC().Format("15:04:05"), c.From, c.To, c.Reason)
		}
	}
	if notes.Len() > 0 {
		if _, err := io.WriteString(w, "\nnotes\n"+notes.String()); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	return nil
}

func fmtValue(unit string, v float64, signed bool) string {
	sign := ""
	if signed && v > 0 {
		sign = "+"
	}
	switch unit {
	case "ratio":
		return sign + fmtRatio(v)
	case "s":
		return fmt.Sprintf("%s%.1fms", sign, v*1000)
	case "events/s":
		return fmt.Sprintf("%s%.2f/s", sign, v)
	}
	return sign + fmtNum(v)
}

func fmtRatio(v float64) string { return fmt.Sprintf("%.3f%%", 100*v) }

func fmtNum(v float64) string { return fmt.Sprintf("%.4g", v) }

// PText is a metric's adjusted p-value as printed. A quantile SLI is
// decided by its quantile-difference interval; its p-value is the level at
// which that interval's lower end first clears the allowance, found only
// below 0.45 (stats.Evidence.PExceeds), so above that, and for a metric
// without data, there is no p-value to print and PText is "-".
func PText(m *Metric) string {
	switch {
	case m.Test == TestNone:
		return "-"
	case m.Test == TestQuantileCI && m.AdjustedPValue >= 0.45:
		return "-"
	}
	return fmt.Sprintf("%.3g", m.AdjustedPValue)
}
