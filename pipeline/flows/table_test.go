package flows_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/flows"
)

func TestProblemsAndTable(t *testing.T) {
	wm := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	rep := &flows.Report{
		Pipeline: flows.Pipeline{State: flows.PipelineOK, Message: "caught up", Watermark: &wm},
		Flows:    []flows.FlowReport{{Flow: "publish", Status: flows.StatusHealthy, Counts: flows.Counts{Items: 3, Complete: 3}}},
	}
	assert.Empty(t, rep.Problems())
	rep.Flows[0].Status = flows.StatusBroken
	rep.Flows[0].Stuck = []flows.StuckItem{{Key: "p-1", LastStage: "content.transformed", Missing: []string{"content.stored"}, StuckForSeconds: 61, Cohort: "control"}}
	assert.Equal(t, []string{"flow publish broken"}, rep.Problems())
	rep.Pipeline.State = flows.PipelineStalled
	assert.Equal(t, []string{"pipeline stalled", "flow publish broken"}, rep.Problems())

	var b bytes.Buffer
	require.NoError(t, flows.WriteTable(&b, rep))
	assert.Contains(t, b.String(), "p-1")
	assert.Contains(t, b.String(), "content.transformed")
	assert.Contains(t, b.String(), "1m1s")
}
