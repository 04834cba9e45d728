package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/steadystate/steadystate/pipeline/findings"
)

// WriteSummary writes what `analyze report` says on the terminal: the
// verdict and counts, every finding of high severity or worse, and the
// files written.
func (r *Report) WriteSummary(w io.Writer, paths []string) {
	verdict := r.Input.Verdict
	if verdict == "" {
		verdict = "unknown"
	}
	fmt.Fprintf(w, "verdict %s · %d findings · %d backlog items\n", strings.ToUpper(verdict), len(r.Analysis.Findings), len(r.Analysis.Backlog))
	for _, fd := range r.Analysis.Findings {
		if fd.Severity.Rank() <= findings.High.Rank() {
			fmt.Fprintf(w, "  [%s] %s\n", fd.Severity, fd.Title)
		}
	}
	for _, p := range paths {
		fmt.Fprintf(w, "wrote %s\n", p)
	}
}
