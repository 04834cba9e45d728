package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
)

const synthFlowYAML = `flows:
  - name: publish
    key: publish_id
    stages:
      - publish.received
      - {name: content.transformed, service: transformer, attributes: {kind: article}}
      - content.stored
      - cache.purged
    within: 2m
`

type capture struct {
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func (c *capture) server(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, r)
		c.body = append(c.body, b)
		c.mu.Unlock()
		_, _ = w.Write([]byte(`{"accepted":1,"rejected":0}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func runSynth(t *testing.T, args ...string) (logs string, err error) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flows.yaml"), []byte(synthFlowYAML), 0o600))
	ios, _, _, errOut := cliutil.Test()
	root := newRootCmd(&factory{IO: ios})
	root.SetArgs(append([]string{"synth", "--experiments", dir, "--every", "10ms", "--stage-gap", "1ms"}, args...))
	err = root.ExecuteContext(context.Background())
	return errOut.String(), err
}

func TestSynthEmitsMarkedStageEvents(t *testing.T) {
	var c capture
	srv := c.server(t)
	logs, err := runSynth(t, "--flow", "publish", "--ingest", srv.URL, "--count", "2", "--drop-stage", "cache.purged")
	require.NoError(t, err, logs)
	require.Len(t, c.body, 6, "two items, three stages each (cache.purged dropped)")
	keys := map[string][]string{}
	for i, b := range c.body {
		assert.Equal(t, "/v1/events", c.reqs[i].URL.Path)
		var ev struct {
			Service, Name, Flow, Stage, Time string
			FlowKey                          string `json:"flow_key"`
			Synthetic                        bool
			Attributes                       map[string]string
		}
		require.NoError(t, json.Unmarshal(b, &ev))
		assert.True(t, ev.Synthetic)
		assert.Equal(t, "publish", ev.Flow)
		assert.Equal(t, ev.Name, ev.Stage)
		assert.Equal(t, ev.FlowKey, ev.Attributes["publish_id"], "the key is also in the flow's key field")
		assert.NotEmpty(t, ev.Time)
		if ev.Stage == "content.transformed" {
			assert.Equal(t, "transformer", ev.Service, "stage conditions are met")
			assert.Equal(t, "article", ev.Attributes["kind"])
		}
		keys[ev.FlowKey] = append(keys[ev.FlowKey], ev.Stage)
	}
	require.Len(t, keys, 2)
	for k, stages := range keys {
		assert.Equal(t, []string{"publish.received", "content.transformed", "content.stored"}, stages, k)
	}
}

func TestSynthHTTPModeCallsEndpointWithKey(t *testing.T) {
	var c capture
	srv := c.server(t)
	logs, err := runSynth(t, "--flow", "publish", "--mode", "http", "--endpoint", srv.URL+"/republish?id={key}", "--count", "1")
	require.NoError(t, err, logs)
	require.Len(t, c.reqs, 1)
	key := c.reqs[0].URL.Query().Get("id")
	require.NotEmpty(t, key)
	assert.Equal(t, "chaos.synthetic=true,flow.key="+key, c.reqs[0].Header.Get("Baggage"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(c.body[0], &body))
	assert.Equal(t, map[string]any{"flow": "publish", "key": key, "publish_id": key, "synthetic": true}, body)
}

func TestSynthFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--count", "1"}, "--flow is required"},
		{[]string{"--flow", "publish", "--mode", "carrier-pigeon"}, `--mode "carrier-pigeon": want emit or http`},
		{[]string{"--flow", "publish", "--mode", "http"}, "--endpoint"},
		{[]string{"--flow", "publish", "--mode", "http", "--endpoint", "http://x/", "--drop-stage", "cache.purged"}, "--drop-stage is for --mode emit"},
		{[]string{"--flow", "nope", "--count", "1"}, `--flow "nope": not defined`},
		{[]string{"--flow", "publish", "--drop-stage", "nope", "--count", "1"}, `--drop-stage "nope": flow publish has no such stage`},
	} {
		_, err := runSynth(t, tt.args...)
		assert.Equal(t, cliutil.ExitUsage, cliutil.Code(err), tt.args)
		assert.ErrorContains(t, err, tt.want)
	}
}
