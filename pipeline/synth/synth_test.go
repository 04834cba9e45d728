package synth

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/experiment"
)

func flow() *experiment.Flow {
	return &experiment.Flow{Name: "publish", Key: "content_id", Stages: []experiment.Stage{
		{Name: "publish.received", Service: "gateway"}, {Name: "content.stored", Attributes: map[string]string{"store": "s3"}}, {Name: "cache.purged"},
	}}
}

func TestEmitPostsEveryStageButTheDroppedOne(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/v1/events", r.URL.Path)
		assert.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
		var ev map[string]any
		b, _ := io.ReadAll(r.Body)
		assert.NoError(t, json.Unmarshal(b, &ev))
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	}))
	defer srv.Close()
	cfg := Config{Mode: "emit", Ingest: srv.URL + "/", Token: "tok", DropStage: "cache.purged", Every: 10 * time.Millisecond, Count: 2}
	require.NoError(t, Run(context.Background(), cfg, flow(), nil, slog.New(slog.DiscardHandler)))
	require.Len(t, got, 4, "two items of two stages each")
	keys := map[any]bool{}
	for _, ev := range got {
		assert.NotEqual(t, "cache.purged", ev["stage"])
		assert.Equal(t, true, ev["synthetic"])
		assert.Equal(t, "publish", ev["flow"])
		attrs := ev["attributes"].(map[string]any)
		assert.Equal(t, ev["flow_key"], attrs["content_id"], "the key also in the flow's key field")
		keys[ev["flow_key"]] = true
		if ev["stage"] == "publish.received" {
			assert.Equal(t, "gateway", ev["service"])
		} else {
			assert.Equal(t, "steadystate-synth", ev["service"])
			assert.Equal(t, "s3", attrs["store"])
		}
	}
	assert.Len(t, keys, 2)
}

func TestHTTPModeAndFailures(t *testing.T) {
	var header http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header = r.Header.Clone()
		if r.URL.Query().Get("id") == "" {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	log := slog.New(slog.DiscardHandler)
	require.NoError(t, Run(context.Background(), Config{Mode: "http", Endpoint: srv.URL + "/republish?id={key}", Every: time.Millisecond, Count: 1}, flow(), nil, log))
	assert.Equal(t, "true", header.Get("X-Steadystate-Synthetic"))
	assert.Contains(t, header.Get("Baggage"), "chaos.synthetic=true,flow.key=synth-")

	err := Run(context.Background(), Config{Mode: "http", Endpoint: srv.URL + "/republish", Every: time.Millisecond, Count: 2}, flow(), nil, log)
	require.EqualError(t, err, "all 2 synthetic items failed", "a 400 is permanent: no retries, and all failed")
	require.Error(t, Run(context.Background(), Config{Mode: "emit", DropStage: "nope", Every: time.Millisecond, Count: 1}, flow(), nil, log))
}

// Validate names the flag of a bad setting in a *UsageError (exit 2).
func TestConfigValidate(t *testing.T) {
	ok := Config{Mode: "emit", Ingest: "http://127.0.0.1:4318", Every: time.Second}
	require.NoError(t, ok.Validate())
	for want, c := range map[string]Config{
		"--every 0s: must be positive":                            {Mode: "emit", Ingest: ok.Ingest},
		"--stage-gap -1s: must not be negative":                   {Mode: "emit", Ingest: ok.Ingest, Every: time.Second, StageGap: -time.Second},
		`--ingest: "x": want an absolute http:// or https:// URL`: {Mode: "emit", Ingest: "x", Every: time.Second},
		"--endpoint is for --mode http":                           {Mode: "emit", Ingest: ok.Ingest, Endpoint: "http://x/", Every: time.Second},
		`--mode "x": want emit or http`:                           {Mode: "x", Every: time.Second},
	} {
		err := c.Validate()
		var ue *UsageError
		require.ErrorAs(t, err, &ue, want)
		require.EqualError(t, err, want)
	}
}
