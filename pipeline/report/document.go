package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steadystate/steadystate/pipeline/findings"
)

// The report is laid out once as sections of blocks, then written as
// Markdown or HTML, so the two always say the same.

type section struct {
	id, title string
	blocks    []block
}

type block interface{ isBlock() }

type para struct {
	text  string
	quote bool
}

type table struct {
	header []string
	rows   [][]string
}

type list struct{ items []string }

type chartRef struct{ chart *Chart }

type findingBlock struct{ f findings.Finding }

func (para) isBlock()         {}
func (table) isBlock()        {}
func (list) isBlock()         {}
func (chartRef) isBlock()     {}
func (findingBlock) isBlock() {}

func (r *Report) title() string {
	t := r.Input.Experiment.Title
	if t == "" {
		t = r.Input.Experiment.ID
	}
	return "Game-day report: " + t
}

func (r *Report) subtitle() string {
	in := r.Input
	parts := []string{"experiment " + in.Experiment.ID}
	if in.Run.ID != "" {
		parts = append(parts, "run "+in.Run.ID)
	}
	parts = append(parts, fmt.Sprintf("%s to %s UTC", in.Run.Start.UTC().Format("2006-01-02 15:04:05"), in.Run.End.UTC().Format("15:04:05")))
	if in.Experiment.Owner != "" {
		parts = append(parts, "owner "+in.Experiment.Owner)
	}
	parts = append(parts, "data read at "+in.GeneratedAt.UTC().Format(time.RFC3339))
	return strings.Join(parts, " · ")
}

func (r *Report) sections() []section {
	in, an := r.Input, r.Analysis
	var out []section

	out = append(out, section{id: "summary", title: "Summary", blocks: []block{
		para{text: "Verdict: " + strings.ToUpper(verdictOr(in.Verdict)) + verdictReason(in)},
		para{text: an.Summary},
	}})

	hyp := section{id: "hypothesis", title: "Hypothesis vs outcome"}
	if in.Experiment.Hypothesis != "" {
		hyp.blocks = append(hyp.blocks, para{text: in.Experiment.Hypothesis, quote: true})
	}
	if len(in.SLIs) > 0 {
		hyp.blocks = append(hyp.blocks, para{text: fmt.Sprintf("n counts each SLI's own requests (the events its filter selects; for latency, the sample the test used), "+
			"while the cohort sizes in the summary (%d experiment, %d control) count every event of the cohort: spans, logs and structured events of all services.",
			in.Cohorts.Experiment, in.Cohorts.Control)})
		switch u := in.AnalysisUnit; u {
		case "":
		case "event":
			hyp.blocks = append(hyp.blocks, para{text: "Unit: event. No randomization unit was known, so every event counts as independent."})
		default:
			hyp.blocks = append(hyp.blocks, para{text: fmt.Sprintf("Unit: %s. Ratio SLIs are analysed per %s (cluster-robust variance over units); "+
				"their n gives events and distinct units.", u, u)})
		}
		if t := in.Tagging; t != nil {
			hyp.blocks = append(hyp.blocks, para{text: taggingText(t)})
		}
		t := table{header: []string{"SLI", "experiment (n requests)", "control (n requests)", "effect (interval)", "tolerance", "test", "verdict"}}
		for _, s := range in.SLIs {
			t.rows = append(t.rows, []string{
				s.Name,
				fmt.Sprintf("%s (%s)", findings.FormatValue(s.Unit, s.Experiment.Value), nText(s.Experiment)),
				fmt.Sprintf("%s (%s)", findings.FormatValue(s.Unit, s.Control.Value), nText(s.Control)),
				fmt.Sprintf("%s (%s to %s, %s)", signed(s.Unit, s.Effect), findings.FormatValue(s.Unit, s.CILower), findings.FormatValue(s.Unit, s.CIUpper), findings.Pct(s.CILevel)),
				findings.FormatValue(s.Unit, s.Allowed),
				fmt.Sprintf("%s, p=%s", s.Test, pText(s)),
				strings.ToUpper(s.Verdict),
			})
		}
		hyp.blocks = append(hyp.blocks, t)
	} else {
		hyp.blocks = append(hyp.blocks, para{text: "No SLI was compared."})
	}
	if len(in.StopConditions) > 0 {
		var items []string
		for _, s := range in.StopConditions {
			state := "not met"
			if s.Holds {
				state = "MET"
			}
			items = append(items, fmt.Sprintf("stop when %s is %s %g: value %g, %s", s.SLI, s.Op, s.Threshold, round(s.Value, 6), state))
		}
		hyp.blocks = append(hyp.blocks, list{items: items})
	}
	out = append(out, hyp)

	exp := section{id: "expectations", title: "Expectations vs outcome", blocks: []block{para{text: an.Alignment.Summary}}}
	if len(an.Expectations) > 0 {
		t := table{header: []string{"who", "about", "predicted", "happened", "mark", "note"}}
		for _, e := range an.Expectations {
			t.rows = append(t.rows, []string{e.Who, e.SLI + e.Flow, e.Outcome, e.Actual, strings.ToUpper(e.Mark), e.Note})
		}
		exp.blocks = append(exp.blocks, t)
	}
	out = append(out, exp)

	tl := table{header: []string{"time (UTC)", "what"}}
	for _, e := range an.Timeline {
		tl.rows = append(tl.rows, []string{e.Time.UTC().Format("15:04:05"), e.Text})
	}
	out = append(out, section{id: "timeline", title: "Timeline", blocks: []block{tl}})

	ch := section{id: "charts", title: "Charts"}
	for _, c := range r.charts {
		ch.blocks = append(ch.blocks, chartRef{chart: c})
	}
	if len(r.charts) == 0 {
		ch.blocks = append(ch.blocks, para{text: "No data to chart."})
	}
	out = append(out, ch)

	br := section{id: "blast-radius", title: "Blast radius"}
	if b := in.BlastRadius; b != nil {
		state := "Everyone outside the experiment cohort was unaffected."
		if b.Degraded {
			state = "Users outside the experiment cohort were affected."
		}
		br.blocks = append(br.blocks, para{text: state}, table{
			header: []string{"control and untagged traffic", "events (all services)", "errors", "error rate"},
			rows: [][]string{
				{"before the run", fmt.Sprint(b.BeforeEvents), fmt.Sprint(b.BeforeErrors), findings.Pct(b.ErrorRateBefore)},
				{"during the run", fmt.Sprint(b.DuringEvents), fmt.Sprint(b.DuringErrors), findings.Pct(b.ErrorRateDuring)},
			},
		}, para{text: fmt.Sprintf("Verdict %s (exact test p=%s).", strings.ToUpper(b.Verdict), pval(b.PValue))})
	} else {
		br.blocks = append(br.blocks, para{text: "Not measured."})
	}
	out = append(out, br)

	fl := section{id: "flows", title: "Flows"}
	for _, f := range in.Flows {
		fl.blocks = append(fl.blocks, para{text: fmt.Sprintf("%s (owner %s, severity %s, within %s)", f.Name, orDash(f.Owner), orDash(f.Severity),
			findings.FormatDuration(time.Duration(f.WithinSeconds*float64(time.Second))))})
		t := table{header: []string{"cohort", "items", "complete", "in flight", "stuck", "completeness", "stuck after"}}
		for _, c := range f.Cohorts {
			var after []string
			for i, n := range c.StuckAfter {
				if n > 0 && i < len(f.Stages) {
					after = append(after, fmt.Sprintf("%s: %d", f.Stages[i], n))
				}
			}
			t.rows = append(t.rows, []string{c.Cohort, fmt.Sprint(c.Items), fmt.Sprint(c.Complete), fmt.Sprint(c.InFlight), fmt.Sprint(c.Stuck),
				findings.Pct(ratio(c.Complete, c.Items)), orDash(strings.Join(after, ", "))})
		}
		fl.blocks = append(fl.blocks, t)
		if len(f.StuckExamples) > 0 {
			fl.blocks = append(fl.blocks, para{text: "Stuck items, for example: " + strings.Join(f.StuckExamples, ", ")})
		}
	}
	if len(in.Flows) == 0 {
		fl.blocks = append(fl.blocks, para{text: "The experiment names no flows."})
	}
	out = append(out, fl)

	al := section{id: "alerts", title: "Alert coverage"}
	if len(an.AlertCoverage) > 0 {
		t := table{header: []string{"alert", "severity", "expected", "fired", "time to fire", "note"}}
		for _, c := range an.AlertCoverage {
			expected := "during the run"
			if c.WithinSeconds > 0 {
				expected = "within " + findings.FormatDuration(time.Duration(c.WithinSeconds*float64(time.Second)))
			}
			fired, ttf, note := "NO", "-", "never fired: a finding"
			if c.Fired {
				fired, ttf, note = "yes", findings.FormatDuration(time.Duration(c.TimeToFireSeconds*float64(time.Second))), "in time"
				if c.Late {
					note = "late"
				}
				if c.Severity != "" && c.FiredSeverity != c.Severity {
					note += fmt.Sprintf("; fired as %q", c.FiredSeverity)
				}
			}
			t.rows = append(t.rows, []string{c.Name, orDash(c.Severity), expected, fired, ttf, note})
		}
		al.blocks = append(al.blocks, t)
	} else {
		al.blocks = append(al.blocks, para{text: "The experiment expects no alerts."})
	}
	if len(an.UnexpectedAlerts) > 0 {
		al.blocks = append(al.blocks, para{text: "Also fired, not expected: " + strings.Join(an.UnexpectedAlerts, ", ")})
	}
	out = append(out, al)

	wd := section{id: "different", title: "What is different"}
	if len(in.Differences) > 0 {
		wd.blocks = append(wd.blocks, para{text: "Attribute values of the experiment cohort's failed events (spans, logs and events with an error, of every service) compared with all of control's events, " +
			"ranked by the lower 95% bound of the lift, so a value shared by many failures outranks a rare one. The cohort tags, the attributes a column came from and per-process or per-request values (ports, ids, timestamps) are left out."})
		t := table{header: []string{"attribute", "failed events (experiment)", "events (control)", "lift", "score (lower bound)", "exemplar traces"}}
		for _, d := range in.Differences {
			t.rows = append(t.rows, []string{d.Key + "=" + d.Value,
				fmt.Sprintf("%d of %d (%s)", d.Bad, d.BadTotal, findings.Pct(d.BadShare())),
				fmt.Sprintf("%d of %d (%s)", d.Control, d.ControlTotal, findings.Pct(d.ControlShare())),
				signedPct(d.Lift()), signedPct(d.Score()), orDash(strings.Join(d.Exemplars, ", "))})
		}
		wd.blocks = append(wd.blocks, t)
	} else {
		wd.blocks = append(wd.blocks, para{text: "The experiment cohort had no failed requests to compare."})
	}
	out = append(out, wd)

	fs := section{id: "findings", title: "Findings"}
	for _, f := range an.Findings {
		fs.blocks = append(fs.blocks, findingBlock{f: f})
	}
	if len(an.Findings) == 0 {
		fs.blocks = append(fs.blocks, para{text: "No findings."})
	}
	out = append(out, fs)

	if h := in.History; h != nil && len(h.Runs) > 1 {
		out = append(out, historySection(h))
	}

	bl := section{id: "backlog", title: "Backlog"}
	if len(an.Backlog) > 0 {
		bl.blocks = append(bl.blocks, para{text: "Ranked by risk: bad minutes per user if the failure happened in production as in the game day (impact x duration x share of users affected)."})
		t := table{header: []string{"rank", "item", "owner", "severity", "bad min/user", "error budget", "fingerprint"}}
		for _, it := range an.Backlog {
			t.rows = append(t.rows, []string{fmt.Sprint(it.Rank), it.Title, orDash(it.Owner), string(it.Severity),
				trimNum(round(it.Risk.BadMinutesPerUser, 3)), findings.Pct(it.Risk.BudgetShare), it.Fingerprint})
		}
		bl.blocks = append(bl.blocks, t)
	} else {
		bl.blocks = append(bl.blocks, para{text: "Nothing to do."})
	}
	out = append(out, bl)
	return out
}

func verdictOr(v string) string {
	if v == "" {
		return "unknown"
	}
	return v
}

func verdictReason(in Input) string {
	if in.VerdictReason == "" {
		return ""
	}
	return " (" + in.VerdictReason + ")"
}

func signed(unit string, v float64) string {
	if v > 0 {
		return "+" + findings.FormatValue(unit, v)
	}
	return findings.FormatValue(unit, v)
}

func signedPct(v float64) string {
	if v > 0 {
		return "+" + findings.Pct(v)
	}
	return findings.Pct(v)
}

// nText is an SLI side's n: events, and units when the SLI was analysed
// at a randomization unit.
func nText(c findings.CohortValue) string {
	if c.Units > 0 {
		return fmt.Sprintf("n=%d events, %d units", c.N, c.Units)
	}
	return fmt.Sprintf("n=%d", c.N)
}

// pText is "-" where the SLI's test has no p-value of its own (see
// analysis.PText).
func pText(s findings.SLIResult) string {
	if s.PText == "-" {
		return "-"
	}
	return pval(s.PValue)
}

func pval(p float64) string {
	if p < 0.0001 {
		return "<0.0001"
	}
	return trimNum(round(p, 4))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ratio(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// historySection sets the experiment's runs side by side: verdicts, key
// SLI values and findings per run, and each backlog item's status.
func historySection(h *findings.History) section {
	sec := section{id: "history", title: "Run history"}
	header := []string{""}
	for _, r := range h.Runs {
		label := r.RunID
		if label == "" {
			label = r.Start.UTC().Format("2006-01-02 15:04")
		}
		header = append(header, label)
	}
	t := table{header: header}
	row := []string{"started (UTC)"}
	for _, r := range h.Runs {
		row = append(row, r.Start.UTC().Format("2006-01-02 15:04:05"))
	}
	t.rows = append(t.rows, row)
	row = []string{"verdict"}
	for _, r := range h.Runs {
		row = append(row, strings.ToUpper(verdictOr(r.Verdict)))
	}
	t.rows = append(t.rows, row)
	var names []string
	for _, r := range h.Runs {
		for _, s := range r.SLIs {
			if !slices.Contains(names, s.Name) {
				names = append(names, s.Name)
			}
		}
	}
	for _, n := range names {
		row = []string{n + " (experiment vs control)"}
		for _, r := range h.Runs {
			cell := "-"
			for _, s := range r.SLIs {
				if s.Name == n {
					cell = fmt.Sprintf("%s vs %s, %s", findings.FormatValue(s.Unit, s.Experiment), findings.FormatValue(s.Unit, s.Control), s.Verdict)
				}
			}
			row = append(row, cell)
		}
		t.rows = append(t.rows, row)
	}
	row = []string{"findings"}
	for _, r := range h.Runs {
		row = append(row, fmt.Sprint(len(r.Findings)))
	}
	t.rows = append(t.rows, row)
	sec.blocks = append(sec.blocks, t)
	if len(h.Items) > 0 {
		sec.blocks = append(sec.blocks, para{text: "Backlog items by fingerprint: new (first found), recurring (found before too), fixed (absent although the run exercised the same SLI, flow or alert), not exercised (absent, but the run could not show it)."})
		it := table{header: append([]string{"item", "fingerprint"}, header[1:]...)}
		for _, item := range h.Items {
			r := []string{item.Title, item.Fingerprint}
			for _, st := range item.Status {
				r = append(r, orDash(strings.ReplaceAll(st, "_", " ")))
			}
			it.rows = append(it.rows, r)
		}
		sec.blocks = append(sec.blocks, it)
	}
	return sec
}

// taggingText says which events were tagged directly and which by their
// trace (at ingest or in ClickHouse), per cohort.
func taggingText(t *findings.Tagging) string {
	return fmt.Sprintf("How the events got their cohort: experiment %d directly (their own flag evaluation, tag or rule), %d by their trace at ingest, %d by their trace in ClickHouse; "+
		"control %d directly, %d by their trace at ingest, %d by their trace in ClickHouse.",
		t.Direct.Experiment, t.TraceIngest.Experiment, t.TraceClickHouse.Experiment,
		t.Direct.Control, t.TraceIngest.Control, t.TraceClickHouse.Control)
}
