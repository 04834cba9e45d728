package analysis

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
)

// A target's last fallback is the window written in its definition; an
// ad-hoc experiment (no definition) or one without a window has none.
func TestTargetDefinitionWindow(t *testing.T) {
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	end := start.Add(time.Hour)
	assert.Nil(t, Target{ID: "x"}.definitionWindow())
	assert.Nil(t, Target{ID: "x", Experiment: &experiment.Experiment{ID: "x"}}.definitionWindow())
	got := Target{ID: "x", Experiment: &experiment.Experiment{ID: "x", Window: &experiment.Window{Start: start, End: end}}}.definitionWindow()
	assert.Equal(t, &query.Window{Since: start, Until: end}, got)
}

func TestTargetRequest(t *testing.T) {
	e := &experiment.Experiment{ID: "x"}
	w := Window{Since: time.Unix(0, 0), Until: time.Unix(60, 0)}
	run := &Run{ID: "r1"}
	assert.Equal(t, Request{ExperimentID: "x", Experiment: e, Window: w, Run: run}, Target{ID: "x", Experiment: e, Window: query.WindowFlags{Run: "r1"}}.Request(w, run))
}
