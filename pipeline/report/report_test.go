package report_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/findings/findingstest"
	"github.com/steadystate/steadystate/pipeline/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The game day renders to the committed golden files, byte for byte.
func TestGameDayGolden(t *testing.T) {
	r := report.Build(findingstest.GameDay())
	files, err := r.Files()
	require.NoError(t, err)
	if *update {
		for _, name := range []string{"report.md", "report.json"} {
			require.NoError(t, os.WriteFile(filepath.Join("testdata", "gameday."+strings.TrimPrefix(name, "report.")), files[name], 0o644))
		}
		t.Fatal("wrote the golden files; run again without -update") // never passes with -update
	}
	for _, name := range []string{"report.md", "report.json"} {
		golden := filepath.Join("testdata", "gameday."+strings.TrimPrefix(name, "report."))
		want, err := os.ReadFile(golden)
		require.NoError(t, err, "golden file (go test ./pipeline/report -update writes it)")
		assert.Equal(t, string(want), string(files[name]), name)
	}
}

func TestDeterministic(t *testing.T) {
	a, err := report.Build(findingstest.GameDay()).Files()
	require.NoError(t, err)
	b, err := report.Build(findingstest.GameDay()).Files()
	require.NoError(t, err)
	require.Len(t, b, len(a))
	for name := range a {
		assert.True(t, bytes.Equal(a[name], b[name]), "%s differs between two renders", name)
	}
	assert.Contains(t, a, "charts/error_rate.png")
	assert.Contains(t, a, "charts/latency.png")
	assert.Contains(t, a, "charts/flow_funnel_publish.png")
	assert.Contains(t, a, "charts/error_budget.png")
}

func TestHTMLIsSelfContained(t *testing.T) {
	html := report.Build(findingstest.GameDay()).HTML()
	for _, bad := range []string{"<script", "<link", "src=\"http", "url(", "@import", "<img"} {
		assert.NotContains(t, html, bad)
	}
	assert.Equal(t, 4, strings.Count(html, "<svg "), "four inline charts")
	assert.Contains(t, html, `<span class="sev sev-critical">CRITICAL</span>checkout_errors: the experiment cohort is worse than control (38% vs 1%)`)
	assert.Contains(t, html, "Alert CheckoutErrorRateHigh never fired")
	assert.Contains(t, html, "The team split 3 vs 1")
	// Text from the data is escaped.
	in := findingstest.GameDay()
	in.Experiment.Title = `<script>alert("x")</script>`
	assert.NotContains(t, report.Build(in).HTML(), "<script>")
}

func TestChartsRender(t *testing.T) {
	r := report.Build(findingstest.GameDay())
	for _, c := range r.Charts() {
		p, err := c.PNG()
		require.NoError(t, err)
		img, err := png.Decode(bytes.NewReader(p))
		require.NoError(t, err)
		assert.Equal(t, 720, img.Bounds().Dx())
		// Not blank: the plot area has pixels of the cohort colours.
		colours := map[[3]uint32]int{}
		for y := 44; y < 240; y++ {
			for x := 64; x < 704; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				colours[[3]uint32{cr >> 8, cg >> 8, cb >> 8}]++
			}
		}
		assert.Positive(t, colours[[3]uint32{0xd6, 0x27, 0x28}], "%s: the experiment cohort is drawn", c.Name)
		svg := c.SVG()
		assert.True(t, strings.HasPrefix(svg, "<svg "), c.Name)
		assert.Contains(t, svg, "#d62728")
	}
	shade := r.Charts()[0].SVG()
	assert.Contains(t, shade, `fill="#ffd700" fill-opacity="0.251"`, "the run window is shaded")
}

func TestJSONShape(t *testing.T) {
	js, err := report.Build(findingstest.GameDay()).JSON()
	require.NoError(t, err)
	var v struct {
		SchemaVersion int `json:"schema_version"`
		Input         struct {
			Verdict string `json:"verdict"`
		} `json:"input"`
		Analysis struct {
			Findings []struct {
				ID string `json:"id"`
			} `json:"findings"`
			Backlog []struct {
				Rank      int    `json:"rank"`
				FindingID string `json:"finding_id"`
			} `json:"backlog"`
		} `json:"analysis"`
	}
	require.NoError(t, json.Unmarshal(js, &v))
	assert.Equal(t, 1, v.SchemaVersion)
	assert.Equal(t, "fail", v.Input.Verdict)
	require.Len(t, v.Analysis.Backlog, 3)
	assert.Equal(t, "flow_stuck:publish:content.transformed", v.Analysis.Backlog[0].FindingID)
}

func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	paths, err := report.Build(findingstest.GameDay()).WriteDir(dir)
	require.NoError(t, err)
	assert.Contains(t, paths, filepath.Join(dir, "report.html"))
	assert.Contains(t, paths, filepath.Join(dir, "charts", "error_budget.png"))
	for _, p := range paths {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Positive(t, st.Size())
	}
}

// The report says which events were tagged directly and which by their
// trace, per cohort, when the comparison knew it.
func TestTaggingSaid(t *testing.T) {
	in := findingstest.GameDay()
	md := report.Build(in).Markdown()
	assert.NotContains(t, md, "How the events got their cohort", "not known: not said")
	in.Tagging = &findings.Tagging{Direct: findings.CohortSizes{Control: 950, Experiment: 50},
		TraceIngest: findings.CohortSizes{Control: 900, Experiment: 30}, TraceClickHouse: findings.CohortSizes{Control: 50, Experiment: 20}}
	r := report.Build(in)
	want := "How the events got their cohort: experiment 50 directly (their own flag evaluation, tag or rule), 30 by their trace at ingest, 20 by their trace in ClickHouse; " +
		"control 950 directly, 900 by their trace at ingest, 50 by their trace in ClickHouse."
	assert.Contains(t, r.Markdown(), want)
	assert.Contains(t, r.HTML(), want)
}
