// Package report renders the post-run findings report of a game day:
// report.md, a self-contained report.html (inline SVG charts, inline CSS,
// no scripts, nothing fetched), report.json and one PNG per chart. It is
// pure: the same Input always renders to the same bytes.
//
// Sections: summary (a paragraph a non-engineer can read), hypothesis vs
// outcome per SLI with the comparison's numbers, expectations vs outcome
// and the team's alignment, timeline, charts (error rate and latency per
// cohort over time with the run window shaded, flow funnel per cohort,
// error-budget burn of the experiment cohort), blast radius, flows, alert
// coverage, what is different (BubbleUp), findings and backlog.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/steadystate/steadystate/pipeline/findings"
)

// Input is what a report is rendered from: everything the run measured
// and the definition expected. cmd/analyze fills it from the comparison,
// the flow check and the report queries.
type Input = findings.Input

// SchemaVersion is the version of report.json's layout.
const SchemaVersion = 1

// Report is a rendered report's content.
type Report struct {
	SchemaVersion int             `json:"schema_version"`
	Input         Input           `json:"input"`
	Analysis      findings.Result `json:"analysis"`
	charts        []*Chart
}

// Build analyses the input and lays out the charts.
func Build(in Input) *Report {
	r := &Report{SchemaVersion: SchemaVersion, Input: in, Analysis: findings.Derive(in)}
	r.charts = r.buildCharts()
	return r
}

// Charts are the report's charts in the order they appear.
func (r *Report) Charts() []*Chart { return r.charts }

// JSON is report.json: the input and the analysis, indented.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("report.json: %w", err)
	}
	return append(b, '\n'), nil
}

// Files are the report's files by name (report.md, report.html,
// report.json, charts/NAME.png), for writing or comparing.
func (r *Report) Files() (map[string][]byte, error) {
	js, err := r.JSON()
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{
		"report.md":   []byte(r.Markdown()),
		"report.html": []byte(r.HTML()),
		"report.json": js,
	}
	for _, c := range r.charts {
		p, err := c.PNG()
		if err != nil {
			return nil, err
		}
		out["charts/"+c.Name+".png"] = p
	}
	return out, nil
}

// WriteDir writes the report's files into dir (created if missing) and
// returns their paths, sorted.
func (r *Report) WriteDir(dir string) ([]string, error) {
	files, err := r.Files()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "charts"), 0o755); err != nil { //nolint:gosec // a report directory is meant to be shared
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var paths []string
	var errs []error
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.WriteFile(p, data, 0o644); err != nil { //nolint:gosec // a report is meant to be shared
			errs = append(errs, fmt.Errorf("write %s: %w", p, err))
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths, errors.Join(errs...)
}

func (r *Report) buildCharts() []*Chart {
	in := r.Input
	var charts []*Chart
	shade := &[2]time.Time{in.Run.Start, in.Run.End}
	cohorts := []struct {
		name, label string
		color       color.RGBA
	}{{"experiment", "experiment", ColorExperiment}, {"control", "control", ColorControl}, {"none", "everyone else", ColorOther}}
	if len(in.Series) > 0 {
		errRate := &Chart{Name: findings.ChartErrorRate, Title: "Error rate per cohort", YLabel: "errors / requests", Shade: shade, YFormat: findings.Pct}
		lat := &Chart{Name: findings.ChartLatency, Title: "p99 latency per cohort", YLabel: "milliseconds", Shade: shade}
		for _, c := range cohorts {
			el := Line{Name: c.label, Color: c.color}
			ll := Line{Name: c.label, Color: c.color}
			for _, p := range in.Series {
				if p.Cohort != c.name || p.Events == 0 {
					continue
				}
				el.Points = append(el.Points, Point{T: p.Time, Y: float64(p.Errors) / float64(p.Events)})
				ll.Points = append(ll.Points, Point{T: p.Time, Y: p.P99ms})
			}
			if len(el.Points) > 0 {
				errRate.Lines = append(errRate.Lines, el)
				lat.Lines = append(lat.Lines, ll)
			}
		}
		charts = append(charts, errRate, lat)
	}
	for _, fl := range in.Flows {
		ch := &Chart{Name: findings.ChartFlowFunnel + "_" + fl.Name, Title: "Flow " + fl.Name + ": items reaching each stage", YLabel: "share of the cohort's items",
			Categories: fl.Stages, YFormat: findings.Pct}
		for _, c := range fl.Cohorts {
			col := ColorOther
			switch c.Cohort {
			case "experiment":
				col = ColorExperiment
			case "control":
				col = ColorControl
			}
			bs := BarSeries{Name: c.Cohort, Color: col}
			for i := range fl.Stages {
				v := 0.0
				if i < len(c.Reached) && c.Items > 0 {
					v = float64(c.Reached[i]) / float64(c.Items)
				}
				bs.Values = append(bs.Values, v)
			}
			ch.Bars = append(ch.Bars, bs)
		}
		charts = append(charts, ch)
	}
	if ch := verdictHistoryChart(in.VerdictHistory, shade); ch != nil {
		charts = append(charts, ch)
	}
	if burn := r.Analysis.Burn; len(burn) > 0 {
		one := 1.0
		ch := &Chart{Name: findings.ChartErrorBudget, Title: "Error budget burned by the experiment cohort", Shade: shade,
			YLabel: fmt.Sprintf("x the budget of its requests at %s", findings.Pct(r.Analysis.Objective)), RefY: &one, RefYLabel: "whole budget"}
		l := Line{Name: "experiment", Color: ColorExperiment}
		for _, p := range burn {
			l.Points = append(l.Points, Point{T: p.Time, Y: p.Consumed})
		}
		ch.Lines = append(ch.Lines, l)
		charts = append(charts, ch)
	}
	return charts
}

// ChartVerdictHistory is the chart of how live's evidence evolved.
const ChartVerdictHistory = "verdict_history"

// historyAlpha is the level the reference line marks (analysis.DefaultAlpha).
const historyAlpha = 0.05

// sliColors tell the SLIs apart in the verdict-history chart.
var sliColors = []color.RGBA{
	{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, {R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, {R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, {R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, {R: 0x17, G: 0xbe, B: 0xcf, A: 0xff},
}

// verdictHistoryChart draws, per SLI, the evidence of every live look as
// -log10 of the adjusted anytime-valid p-value: above the dashed line the
// SLI is significantly worse. nil without history.
func verdictHistoryChart(points []findings.VerdictPoint, shade *[2]time.Time) *Chart {
	if len(points) == 0 {
		return nil
	}
	ref := -math.Log10(historyAlpha)
	ch := &Chart{Name: ChartVerdictHistory, Title: "Verdict history: evidence that the experiment cohort is worse, per live look",
		YLabel: "-log10 p (anytime-valid, adjusted)", Shade: shade, RefY: &ref, RefYLabel: fmt.Sprintf("p = %g", historyAlpha)}
	idx := map[string]int{}
	for _, p := range points {
		i, ok := idx[p.SLI]
		if !ok {
			i = len(ch.Lines)
			idx[p.SLI] = i
			ch.Lines = append(ch.Lines, Line{Name: p.SLI, Color: sliColors[i%len(sliColors)]})
		}
		pv := math.Max(p.PValue, 1e-12) // cap the axis at 12
		ch.Lines[i].Points = append(ch.Lines[i].Points, Point{T: p.Time, Y: -math.Log10(math.Min(pv, 1))})
	}
	return ch
}
