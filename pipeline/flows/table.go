package flows

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// LimitStuck keeps at most n stuck items per flow (n <= 0: all), counting
// the rest in StuckOmitted.
func (rep *Report) LimitStuck(n int) {
	if n <= 0 {
		return
	}
	for i := range rep.Flows {
		if fr := &rep.Flows[i]; len(fr.Stuck) > n {
			fr.StuckOmitted = len(fr.Stuck) - n
			fr.Stuck = fr.Stuck[:n]
		}
	}
}

// Problems says what makes `analyze flows check` exit 3: a pipeline that
// is not ok and every broken flow; empty when all is well.
func (rep *Report) Problems() []string {
	var msgs []string
	if rep.Pipeline.State != PipelineOK {
		msgs = append(msgs, "pipeline "+string(rep.Pipeline.State))
	}
	for i := range rep.Flows {
		if rep.Flows[i].Status == StatusBroken {
			msgs = append(msgs, "flow "+rep.Flows[i].Flow+" broken")
		}
	}
	return msgs
}

// WriteTable writes the report as the table of `analyze flows check`.
func WriteTable(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := rep.Pipeline
	fmt.Fprintf(tw, "pipeline\t%s\t%s\n", p.State, p.Message)
	if p.Watermark != nil {
		fmt.Fprintf(tw, "watermark\t%s\t(%.1fs behind now)\n", p.Watermark.Format(time.RFC3339), p.LagSeconds)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "FLOW\tSTATUS\tITEMS\tCOMPLETE\tIN FLIGHT\tSTUCK\tSYNTHETIC OK/STUCK\tREASON")
	for i := range rep.Flows {
		f := &rep.Flows[i]
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d/%d\t%s\n", f.Flow, f.Status, f.Counts.Items, f.Counts.Complete, f.Counts.InFlight, f.Counts.Stuck, f.Synthetic.Complete, f.Synthetic.Stuck, f.Reason)
	}
	for i := range rep.Flows {
		f := &rep.Flows[i]
		if len(f.Stuck) == 0 {
			continue
		}
		fmt.Fprintf(tw, "\nstuck in %s\nKEY\tLAST STAGE\tMISSING\tSTUCK FOR\tCOHORT\n", f.Flow)
		for _, s := range f.Stuck {
			key := s.Key
			if s.Synthetic {
				key += " (synthetic)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", key, s.LastStage, strings.Join(s.Missing, ", "), time.Duration(s.StuckForSeconds*float64(time.Second)).Round(time.Second), s.Cohort)
		}
		if f.StuckOmitted > 0 {
			fmt.Fprintf(tw, "... and %d more\n", f.StuckOmitted)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}
