//go:build integration

package warroom_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/browsertest"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/warroom"
)

func series(since time.Time, expErr float64) []warroom.SeriesPoint {
	var out []warroom.SeriesPoint
	for i := -6; i < 6; i++ {
		t := since.Add(time.Duration(i) * 10 * time.Second)
		e := int64(0)
		if i >= 0 {
			e = int64(expErr * 10)
		}
		out = append(out, warroom.SeriesPoint{Time: t, Cohort: "control", Events: 200, Errors: 1, P99ms: 70},
			warroom.SeriesPoint{Time: t, Cohort: "experiment", Events: 10, Errors: e, P99ms: 20})
	}
	return out
}

// The page renders the first look, updates when the next look is pushed,
// and shows the stop banner (red, across the page) once a stop condition
// holds; screenshots are checked for both states.
func TestWarRoomInChromium(t *testing.T) {
	s := start(t, warroom.Config{Addr: "127.0.0.1:0"})
	now := time.Now().UTC().Truncate(time.Second)
	since := now.Add(-time.Minute)
	first := &warroom.Snapshot{IntervalSeconds: 5, Series: series(since, 0.5), Result: &analysis.Result{
		ExperimentID: "checkout-payment-500", Title: "Payment API returns 500 for 5% of users", Window: analysis.Window{Since: since, Until: now},
		GeneratedAt: now, Verdict: "inconclusive", Alpha: 0.05,
		Metrics: []analysis.Metric{{Name: "checkout_errors", Unit: "ratio", Verdict: "inconclusive", Provisional: true,
			Control: analysis.CohortValue{N: 1200, Value: 0.005}, Experiment: analysis.CohortValue{N: 12, Value: 0.5}}},
		StopConditions: []analysis.StopStatus{{SLI: "checkout_errors", Op: ">", Threshold: 0.2, For: "30s", Value: 0.5, Crossed: true, Since: &now}},
	}, Alerts: []warroom.AlertStatus{{Name: "CheckoutErrorRateHigh", Severity: "page", WithinSeconds: 60}}}
	require.NoError(t, s.Publish(first))

	ctx := browsertest.Browser(t, 2*time.Minute)
	run := func(a chromedp.Action[chromedp.Void]) {
		t.Helper()
		_, err := chromedp.Run(ctx, a)
		require.NoError(t, err)
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		require.NoError(t, err, sel)
		return v
	}
	// waitJS polls a JavaScript condition (the page changes its DOM on
	// each pushed event) for up to 30 s.
	waitJS := func(cond string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
			require.NoError(t, err, cond)
			if ok {
				return
			}
			if time.Now().After(deadline) {
				page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
				t.Fatalf("waited 30s for %s; the page shows:\n%s", cond, page)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	screenshot := func() []byte {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		require.NoError(t, err)
		return v
	}
	run(chromedp.Navigate(s.URL()))
	waitJS(`document.getElementById("updated").dataset.seq === "1"`)
	sub, table, banner := text(`#sub`), text(`#slis`), text(`#banner`)
	shot1 := screenshot()
	assert.Contains(t, sub, "checkout-payment-500")
	assert.Contains(t, table, "checkout_errors")
	assert.Contains(t, table, "INCONCLUSIVE")
	assert.Empty(t, banner, "no stop condition holds yet")
	red1, dark1, total := browsertest.BannerPixels(t, shot1)
	t.Logf("first look: %d banner-red, %d black of %d pixels", red1, dark1, total)
	assert.Less(t, dark1, total*99/100, "the page is not blank")
	assert.Less(t, red1, 2000, "no stop banner before the stop condition holds")

	second := *first
	res := *first.Result
	res.Verdict, res.Stop, res.GeneratedAt = "fail", true, now.Add(5*time.Second)
	res.Metrics = []analysis.Metric{{Name: "checkout_errors", Unit: "ratio", Verdict: "fail",
		Control: analysis.CohortValue{N: 1300, Value: 0.005}, Experiment: analysis.CohortValue{N: 40, Value: 1}}}
	res.StopConditions = []analysis.StopStatus{{SLI: "checkout_errors", Op: ">", Threshold: 0.2, For: "30s", Value: 1, Crossed: true, Since: &since, Holds: true}}
	second.Result = &res
	second.Series = series(since, 1)
	require.NoError(t, s.Publish(&second))

	waitJS(`document.getElementById("updated").dataset.seq === "2"`)
	waitJS(`document.getElementById("banner").className === "on" && document.getElementById("banner").offsetHeight > 40`)
	banner, table = text(`#banner`), text(`#slis`)
	shot2 := screenshot()
	assert.Contains(t, banner, "STOP THE EXPERIMENT: checkout_errors is 1, above 0.2 for 30s")
	assert.Contains(t, table, "FAIL")
	red2, dark2, _ := browsertest.BannerPixels(t, shot2)
	t.Logf("after the stop: %d banner-red, %d black of %d pixels", red2, dark2, total)
	assert.Greater(t, red2, 20000, "the stop banner is drawn in red across the page")
	if dir := os.Getenv("WARROOM_SHOTS"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "warroom-1.png"), shot1, 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "warroom-2.png"), shot2, 0o600))
	}
}
