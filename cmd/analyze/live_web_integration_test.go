//go:build integration

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/browsertest"
	"github.com/steadystate/steadystate/internal/testkit/freeport"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

const liveWebExperiment = `experiments:
  - id: live-web-exp
    title: Payment API returns 500 for the experiment cohort
    hypothesis: The checkout page degrades gracefully.
    owner: team-checkout
    cohorts:
      expected_split: {experiment: 0.25, control: 0.75}
    slis:
      - name: checkout_errors
        type: error_rate
        filter: {service: checkout, operation: "GET /checkout"}
        tolerance: {absolute: 0.01, direction: lower_is_better}
    stop_conditions:
      - sli: checkout_errors
        above: 0.2
`

// End to end: the real analyze live --web watches a fresh database while
// events arrive in ClickHouse in two phases. Phase 1 is healthy: the page
// in headless Chromium shows the SLI table and no banner. Phase 2 pushes
// the experiment cohort's errors over the stop condition: without a reload
// the page updates itself and shows the red stop banner.
func TestLiveWebInChromiumAsEventsArrive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	db := newTestDB(t)
	expDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(expDir, "live.yaml"), []byte(liveWebExperiment), 0o644))

	insert := liveInserter(ctx, t, db)
	// Phase 1: healthy, both cohorts at about 1% errors.
	insert(telemetry.CohortControl, 300, 3)
	insert(telemetry.CohortExperiment, 100, 1)

	addr := freeport.Addr(t)

	f, _ := db.factory(expDir)
	liveCtx, stopLive := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		cmd := newCmdLive(f, nil)
		cmd.SetArgs([]string{"live-web-exp", "--since", "10m", "--interval", "1s", "--web", addr})
		cmd.SilenceUsage = true
		done <- cmd.ExecuteContext(liveCtx)
	}()
	t.Cleanup(func() {
		stopLive()
		select {
		case err := <-done:
			assert.NoError(t, err, "live ends cleanly on cancel")
		case <-time.After(20 * time.Second):
			t.Error("live did not stop within 20s of its context ending")
		}
	})

	bctx := browsertest.Browser(t, 3*time.Minute)
	evalStr := func(js string) string {
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		require.NoError(t, err, js)
		return v
	}
	waitJS := func(cond string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](cond))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				page, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
				t.Fatalf("waited %s for %s (err %v); the page shows:\n%s", within, cond, err, page)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	shot := func() []byte {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		require.NoError(t, err)
		return v
	}
	// The server may take a moment to listen: retry the navigation.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := chromedp.Run(bctx, chromedp.Navigate("http://"+addr+"/"))
		if err == nil && evalStr(`document.getElementById("slis") ? "y" : "n"`) == "y" {
			break
		}
		require.True(t, time.Now().Before(deadline), "war room at %s never answered: %v", addr, err)
		time.Sleep(300 * time.Millisecond)
	}
	waitJS(`document.getElementById("slis").innerText.includes("checkout_errors")`, 30*time.Second)
	seq1 := evalStr(`document.getElementById("updated").dataset.seq || ""`)
	table1, banner1 := evalStr(`document.getElementById("slis").innerText`), evalStr(`document.getElementById("banner").innerText`)
	red1, _, total := browsertest.BannerPixels(t, shot())
	t.Logf("phase 1 (look %s): table %q; banner %q; %d red of %d pixels", seq1, table1, banner1, red1, total)
	assert.Contains(t, table1, "checkout_errors")
	assert.Contains(t, evalStr(`document.getElementById("sub").innerText`), "live-web-exp")
	assert.Empty(t, banner1, "healthy: no stop banner")
	assert.Less(t, red1, 2000, "healthy: no red banner in the screenshot")

	// Phase 2: the experiment cohort fails 150 of 150 new requests
	// (151/250 overall, above 0.2). The page is not reloaded.
	insert(telemetry.CohortExperiment, 150, 150)
	// A look that overlaps the insert can read one view before the insert
	// reached it and another after (ClickHouse writes a block's views one
	// after another, and a look's statements run side by side): the stop
	// condition from the new rows beside the SLI table from the old. The
	// next look reads them all, so wait for the page to show both.
	waitJS(`document.getElementById("banner").innerText.trim() !== "" && document.getElementById("slis").innerText.includes("FAIL")`, 45*time.Second)
	seq2 := evalStr(`document.getElementById("updated").dataset.seq || ""`)
	banner2, table2 := evalStr(`document.getElementById("banner").innerText`), evalStr(`document.getElementById("slis").innerText`)
	red2, _, _ := browsertest.BannerPixels(t, shot())
	t.Logf("phase 2 (look %s): banner %q; table %q; %d red pixels", seq2, banner2, table2, red2)
	assert.NotEqual(t, seq1, seq2, "the page took a newer look by itself")
	// 151 errors of 250 experiment requests; the condition is "above".
	assert.Contains(t, banner2, "STOP THE EXPERIMENT: checkout_errors is 0.604, above 0.2")
	assert.Contains(t, table2, "FAIL")
	assert.Greater(t, red2, total/50, "the red stop banner is on the screen")
}

// liveInserter returns a function that inserts n checkout spans of one
// cohort of experiment live-web-exp, errs of them errors, ending now and
// 10 ms apart, with ids unique across calls.
func liveInserter(ctx context.Context, t *testing.T, db *testDB) func(cohort telemetry.Cohort, n, errs int) {
	t.Helper()
	var seq int
	return func(cohort telemetry.Cohort, n, errs int) {
		t.Helper()
		now := time.Now()
		var evs []telemetry.Event
		for i := range n {
			seq++
			st := telemetry.StatusOK
			if i < errs {
				st = telemetry.StatusError
			}
			at := now.Add(-time.Duration(i) * 10 * time.Millisecond)
			evs = append(evs, telemetry.Event{ID: fmt.Sprintf("ev-%d", seq), TimeNs: at.UnixNano(), IngestNs: at.UnixNano(), Kind: telemetry.KindSpan,
				Service: "checkout", Name: "GET /checkout", ExperimentID: "live-web-exp", Cohort: cohort, Status: st, IsError: i < errs,
				DurationNs: uint64(20 * time.Millisecond)})
		}
		db.insert(ctx, t, evs)
	}
}
