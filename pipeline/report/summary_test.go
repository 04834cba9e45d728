package report_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/report"
)

func TestWriteSummary(t *testing.T) {
	r := &report.Report{Input: report.Input{Verdict: "fail"}, Analysis: findings.Result{
		Findings: []findings.Finding{{Severity: findings.High, Title: "errors up"}, {Severity: findings.Low, Title: "minor"}},
		Backlog:  []findings.Item{{}},
	}}
	var b strings.Builder
	r.WriteSummary(&b, []string{"out/report.md"})
	assert.Equal(t, "verdict FAIL · 2 findings · 1 backlog items\n  [high] errors up\nwrote out/report.md\n", b.String())
	b.Reset()
	(&report.Report{}).WriteSummary(&b, nil)
	assert.Equal(t, "verdict UNKNOWN · 0 findings · 0 backlog items\n", b.String())
}
