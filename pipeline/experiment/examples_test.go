package experiment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// shippedDir is the repository's experiments/ directory.
var shippedDir = filepath.Join("..", "..", "experiments")

// TestShippedExamplesAreValid keeps experiments/*.yaml and
// experiments/examples/*.yaml loadable, each directory on its own and all
// of them together.
func TestShippedExamplesAreValid(t *testing.T) {
	var all []string
	for _, dir := range []string{shippedDir, filepath.Join(shippedDir, "examples")} {
		paths, err := specFiles(dir)
		require.NoError(t, err)
		all = append(all, paths...)
		_, err = LoadDir(dir)
		require.NoError(t, err, dir)
	}
	require.NotEmpty(t, all)
	spec, err := LoadFiles(all...)
	require.NoError(t, err)
	require.NoError(t, spec.Validate())
}

func TestCheckoutExample(t *testing.T) {
	spec, err := LoadDir(filepath.Join(shippedDir, "examples"))
	require.NoError(t, err)

	e, ok := spec.Experiment("checkout-payment-500")
	require.True(t, ok)
	assert.Equal(t, Split{Experiment: 0.05, Control: 0.95}, e.Cohorts.ExpectedSplit)
	require.Len(t, e.SLIs, 3)
	assert.Equal(t, []SLIType{SLIErrorRate, SLILatency, SLIGoodEvents}, []SLIType{e.SLIs[0].Type, e.SLIs[1].Type, e.SLIs[2].Type})
	assert.InDelta(t, 0.999, e.SLIs[2].Objective, 0)
	assert.Len(t, e.StopConditions, 1)
	assert.Equal(t, []string{"publish"}, e.Flows)
	require.Len(t, e.Expectations, 4)
	outcomes := map[Outcome]int{}
	for _, x := range e.Expectations {
		outcomes[x.Outcome]++
	}
	assert.Equal(t, map[Outcome]int{OutcomeUnaffected: 3, OutcomeFails: 1}, outcomes)
	assert.Len(t, e.ExpectedAlerts, 2)

	a := NewAssigner(spec)
	id, cohort, ok := a.Assign("checkout", MapAttributes{
		telemetry.AttrFeatureFlagKey: "payment-chaos", telemetry.AttrFeatureFlagVariant: "on"})
	assert.Equal(t, []any{"checkout-payment-500", telemetry.CohortExperiment, true}, []any{id, cohort, ok})

	f, ok := spec.Flow("publish")
	require.True(t, ok)
	assert.Equal(t, SeverityPage, f.Severity)
	assert.Len(t, f.Stages, 4)
	require.NotNil(t, f.Absence)
}

// TestReadmeWorkedExample keeps the worked example in experiments/README.md
// valid.
func TestReadmeWorkedExample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(shippedDir, "README.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "## Worked example")
	require.True(t, ok)
	_, block, ok := strings.Cut(section, "```yaml\n")
	require.True(t, ok)
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)

	p := filepath.Join(t.TempDir(), "worked-example.yaml")
	require.NoError(t, os.WriteFile(p, []byte(block), 0o600))
	spec, err := LoadFiles(p, filepath.Join(shippedDir, "examples", "publish-flow.yaml"))
	require.NoError(t, err)
	_, ok = spec.Experiment("checkout-payment-500")
	assert.True(t, ok)
}
