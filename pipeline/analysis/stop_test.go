package analysis_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/notify"
)

func TestStopAlertsPostToWebhookAndAlertmanager(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[r.URL.Path] = b
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	since := time.Date(2026, 11, 21, 10, 5, 0, 0, time.UTC)
	res := &analysis.Result{ExperimentID: "exp-1", Stop: true, GeneratedAt: since.Add(time.Minute), StopConditions: []analysis.StopStatus{
		{SLI: "errors", Op: "above", Threshold: 0.2, For: "30s", Value: 0.31, Crossed: true, Holds: true, Since: &since},
		{SLI: "latency", Op: "above", Threshold: 1, Value: 0.2},
	}}
	ts, err := notify.Targets(notify.Destinations{Webhook: []string{srv.URL + "/hook"}, Alertmanager: []string{srv.URL}})
	require.NoError(t, err)
	require.NoError(t, notify.Send(context.Background(), ts, analysis.StopAlerts(res)))

	var hook notify.WebhookMessage
	require.NoError(t, json.Unmarshal(got["/hook"], &hook))
	require.Len(t, hook.Alerts, 1, "only conditions that hold")
	assert.Equal(t, "firing", hook.Status)
	assert.Equal(t, "stop experiment exp-1: errors is 0.31, above 0.2 for 30s", hook.Alerts[0].Annotations["summary"])
	var alerts []map[string]any
	require.NoError(t, json.Unmarshal(got["/api/v2/alerts"], &alerts))
	require.Len(t, alerts, 1)
	labels := alerts[0]["labels"].(map[string]any)
	assert.Equal(t, analysis.StopAlertName, labels["alertname"])
	assert.Equal(t, "errors", labels["sli"])
	assert.Equal(t, "exp-1", labels["experiment_id"])

	_, err = notify.Targets(notify.Destinations{Webhook: []string{"not a url"}})
	require.ErrorContains(t, err, "webhook")
}
