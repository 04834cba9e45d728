package main

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
)

func TestStopAlertPostsWebhookAndAlertmanager(t *testing.T) {
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
	a := &stopAlert{Webhook: srv.URL + "/hook", Alertmanager: srv.URL + "/"}
	require.NoError(t, a.post(context.Background(), res))

	var hook webhookPayload
	require.NoError(t, json.Unmarshal(got["/hook"], &hook))
	assert.Equal(t, "stop_condition", hook.Event)
	assert.Equal(t, "stop experiment exp-1: errors is 0.31, above 0.2 for 30s", hook.Summary)
	var alerts []amAlert
	require.NoError(t, json.Unmarshal(got["/api/v2/alerts"], &alerts))
	require.Len(t, alerts, 1, "only conditions that hold")
	assert.Equal(t, "SteadystateStopCondition", alerts[0].Labels["alertname"])
	assert.Equal(t, "errors", alerts[0].Labels["sli"])
	assert.True(t, alerts[0].StartsAt.Equal(since))

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "nope", http.StatusBadGateway)
	}))
	defer bad.Close()
	err := (&stopAlert{Webhook: bad.URL}).post(context.Background(), res)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "502")
}
