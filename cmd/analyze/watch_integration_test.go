//go:build integration

package main_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/amtest"
	"github.com/steadystate/steadystate/pipeline/flows"
)

func (s *stack) watch(t *testing.T, am *amtest.Server, extra ...string) *proc {
	t.Helper()
	args := append([]string{"watch", "--interval", "1s", "--resend", "2s", "--consumer-group", s.group, "--since", "15m",
		"--alertmanager", am.URL, "--listen", freeAddr(t)}, extra...)
	w := startProc(t, s.env, "analyze", args...)
	w.WaitLog(t, "watching flows", 30*time.Second)
	return w
}

// waitAlerts polls Alertmanager's GET /api/v2/alerts until cond holds.
func waitAlerts(t *testing.T, am *amtest.Server, within time.Duration, what string, cond func([]amtest.Alert) bool) []amtest.Alert {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		alerts, err := am.Alerts(bg)
		require.NoError(t, err)
		if cond(alerts) {
			return alerts
		}
		if time.Now().After(deadline) {
			t.Fatalf("Alertmanager: not %s within %s; alerts: %+v", what, within, alerts)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A stuck item raises an alert with the expected labels in a real
// Alertmanager, and the alert resolves when the item completes.
func TestWatchAlertsAlertmanagerAndResolves(t *testing.T) {
	am := amtest.Start(t)
	t.Logf("Alertmanager %s at %s", am.Version, am.URL)
	s := newStack(t, 3*time.Second, "")
	w := s.watch(t, am)

	now := time.Now()
	stuck := []event{stageEvent("p-stuck", 0, now), stageEvent("p-stuck", 1, now.Add(100*time.Millisecond))}
	for i := range stuck {
		stuck[i].ExperimentID, stuck[i].Cohort = "publish-chaos", "experiment"
	}
	ok := []event{stageEvent("p-ok", 0, now), stageEvent("p-ok", 1, now), stageEvent("p-ok", 2, now), stageEvent("p-ok", 3, now)}
	s.send(append(stuck, ok...)...)

	want := map[string]string{"alertname": "FlowItemsStuck", "flow": "publish", "stage": "content.transformed", "severity": "page", "experiment": "publish-chaos"}
	alerts := waitAlerts(t, am, 30*time.Second, "firing FlowItemsStuck", func(a []amtest.Alert) bool { return len(amtest.Find(a, want)) == 1 })
	a := amtest.Find(alerts, want)[0]
	assert.Equal(t, want, a.Labels, "exactly the stable labels")
	assert.Equal(t, "active", a.Status.State)
	assert.Equal(t, "1 publish items stuck after content.transformed", a.Annotations["summary"])
	assert.Contains(t, a.Annotations["description"], "p-stuck (stuck for")
	assert.Contains(t, a.Annotations["description"], "missing content.stored, cache.purged")
	assert.Equal(t, "https://runbooks.example.com/publish-stuck", a.Annotations["runbook_url"])
	assert.True(t, strings.HasPrefix(a.GeneratorURL, "http://127.0.0.1:"), a.GeneratorURL)
	assert.Contains(t, a.GeneratorURL, "/flows?flow=publish")
	assert.Len(t, alerts, 1, "p-ok raised nothing, and the pipeline is fine")

	// Re-sent while it holds: Alertmanager's updatedAt moves on.
	first := a.UpdatedAt
	waitAlerts(t, am, 10*time.Second, "re-sent", func(al []amtest.Alert) bool {
		f := amtest.Find(al, want)
		return len(f) == 1 && f[0].UpdatedAt.After(first)
	})

	// The item completes: the alert resolves (Alertmanager stops listing it).
	later := time.Now()
	done := []event{stageEvent("p-stuck", 2, later), stageEvent("p-stuck", 3, later)}
	for i := range done {
		done[i].ExperimentID, done[i].Cohort = "publish-chaos", "experiment"
	}
	s.send(done...)
	waitAlerts(t, am, 30*time.Second, "resolved", func(al []amtest.Alert) bool { return len(amtest.Find(al, want)) == 0 })
	w.WaitLog(t, "alert resolved", 5*time.Second)
	w.Stop(t, 30*time.Second)
	assert.Contains(t, w.Logs(), "watch stopped")
}

// Only synthetic traffic: the flow is idle and nothing alerts. Then the
// synthetic items lose their last stage: the flow is broken and alerts.
func TestSyntheticTrafficIdleThenBroken(t *testing.T) {
	am := amtest.Start(t)
	s := newStack(t, 3*time.Second, "    absence: {period: 20s, synthetic_only: true}\n")
	s.watch(t, am)
	synth := startProc(t, s.env, "ingest", "synth", "--flow", "publish", "--every", "500ms", "--stage-gap", "50ms", "--ingest", s.ingest)

	rep := s.checkUntil(60*time.Second, "idle with completed synthetic items", func(r *flows.Report) bool {
		return len(r.Flows) == 1 && r.Flows[0].Synthetic.Complete >= 5
	})
	f := rep.Flows[0]
	assert.Equal(t, flows.StatusIdle, f.Status, f.Reason)
	assert.Equal(t, flows.Counts{}, f.Counts, "synthetic items are not business items")
	assert.Empty(t, f.Cohorts)
	assert.Zero(t, f.Synthetic.Stuck)
	require.NotNil(t, f.Absence)
	assert.False(t, f.Absence.Firing, f.Absence.Message)
	time.Sleep(3 * time.Second) // several watch evaluations
	alerts, err := am.Alerts(bg)
	require.NoError(t, err)
	assert.Empty(t, alerts, "an idle flow with working synthetic traffic alerts nobody")

	synth.Stop(t, 30*time.Second)
	startProc(t, s.env, "ingest", "synth", "--flow", "publish", "--every", "500ms", "--stage-gap", "50ms", "--ingest", s.ingest, "--drop-stage", "cache.purged")
	want := map[string]string{"alertname": "FlowBroken", "flow": "publish", "stage": "content.stored", "severity": "page", "experiment": "none"}
	alerts = waitAlerts(t, am, 45*time.Second, "FlowBroken", func(a []amtest.Alert) bool { return len(amtest.Find(a, want)) == 1 })
	assert.Contains(t, amtest.Find(alerts, want)[0].Annotations["summary"], "synthetic items stuck after content.stored")
	rep, code := s.check()
	assert.Equal(t, 3, code)
	f = rep.Flows[0]
	assert.Equal(t, flows.StatusBroken, f.Status, f.Reason)
	assert.Positive(t, f.Synthetic.Stuck)
	assert.Zero(t, f.Counts.Stuck, "synthetic items never count as business items")
	for _, it := range f.Stuck {
		assert.True(t, it.Synthetic)
		assert.Equal(t, "content.stored", it.LastStage)
		assert.Equal(t, []string{"cache.purged"}, it.Missing)
	}
}
