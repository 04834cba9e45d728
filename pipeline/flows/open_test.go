package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/store"
)

func isUsage(err error) bool {
	var ue *query.UsageError
	return errors.As(err, &ue)
}

func TestPick(t *testing.T) {
	dir := t.TempDir()
	// The minimal example, as-is.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flows.yaml"), []byte(`flows:
  - name: publish
    key: publish_id
    stages: [publish.received, content.transformed, content.stored, cache.purged]
    within: 2m
`), 0o600))
	spec, err := experiment.LoadDir(dir)
	require.NoError(t, err)
	got, err := flows.Pick(spec, "", dir)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, experiment.SeverityTicket, got[0].Severity)

	_, err = flows.Pick(spec, "orders", dir)
	assert.True(t, isUsage(err), "an unknown --flow is a usage error")
	require.ErrorContains(t, err, `--flow "orders": no such flow in `+dir+"; defined: publish")

	_, err = flows.Pick(&experiment.Spec{}, "", dir)
	require.ErrorContains(t, err, "no flows defined in "+dir)
	assert.False(t, isUsage(err))
}

// Open refuses bad settings as usage errors before it dials ClickHouse
// (the address here has nothing listening).
func TestOpenRefusesBadSettings(t *testing.T) {
	cfg := store.NewDefaultConfig()
	cfg.Addr = "127.0.0.1:1"
	spec := &experiment.Spec{Flows: []experiment.Flow{{Name: "publish"}}}
	for name, tt := range map[string]struct {
		sel  func(*flows.Selection)
		want string
	}{
		"since":          {func(s *flows.Selection) { s.Since = 0 }, "--since 0s: must be positive"},
		"consumer group": {func(s *flows.Selection) { s.Config.ConsumerGroup = "" }, "consumer group: must not be empty"},
		"unknown flow":   {func(s *flows.Selection) { s.Flow = "orders" }, `--flow "orders"`},
	} {
		t.Run(name, func(t *testing.T) {
			sel := flows.NewDefaultSelection()
			tt.sel(&sel)
			_, _, err := flows.Open(context.Background(), cfg, spec, "defs", sel)
			require.ErrorContains(t, err, tt.want)
			assert.True(t, isUsage(err))
		})
	}
	assert.Equal(t, time.Hour, flows.NewDefaultSelection().Since)
}

func TestWriteReport(t *testing.T) {
	rep := &flows.Report{Pipeline: flows.Pipeline{State: flows.PipelineOK}, Flows: []flows.FlowReport{{Flow: "publish", Status: flows.StatusHealthy}}}
	var js bytes.Buffer
	require.NoError(t, flows.WriteReport(&js, rep, "json"))
	var back map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	assert.Equal(t, "ok", back["pipeline"].(map[string]any)["state"])
	assert.Contains(t, js.String(), "\n  \"pipeline\"", "indented")

	var table bytes.Buffer
	require.NoError(t, flows.WriteReport(&table, rep, "table"))
	assert.Contains(t, table.String(), "pipeline  ok")
}

func TestGeneratorURL(t *testing.T) {
	host := func() (string, error) { return "box1", nil }
	assert.Equal(t, "https://ops/flows", flows.GeneratorURL("https://ops/flows", "127.0.0.1:9466", host))
	assert.Equal(t, "http://127.0.0.1:9466/flows", flows.GeneratorURL("", "127.0.0.1:9466", host))
	assert.Equal(t, "http://box1/steadystate/flows", flows.GeneratorURL("", "", host))
}
