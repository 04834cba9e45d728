package query

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteRunList writes recorded runs as the table of `analyze run list`:
// run, experiment, start, duration ("running" while open), operator, the
// last verdict recorded for the run, how many looks recorded it, and the
// note.
func WriteRunList(w io.Writer, runs []RunListing) error {
	if len(runs) == 0 {
		_, err := fmt.Fprintln(w, "no recorded runs (record one with analyze run start <experiment>)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tEXPERIMENT\tSTART (UTC)\tDURATION\tOPERATOR\tLAST VERDICT\tLOOKS\tNOTE")
	for _, r := range runs {
		dur := "running"
		if r.End != nil {
			dur = r.End.Sub(r.Start).Round(time.Second).String()
		}
		verdict := "-"
		if r.LastVerdict != "" {
			verdict = strings.ToUpper(r.LastVerdict)
		}
		operator := r.Operator
		if operator == "" {
			operator = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.ID, r.ExperimentID, r.Start.Format("2006-01-02 15:04:05"), dur,
			operator, verdict, r.Looks, r.Note)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write run list: %w", err)
	}
	return nil
}
