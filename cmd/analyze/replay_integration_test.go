//go:build integration

package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/fixture"
)

// TestReplayOnStoredTraffic runs `analyze replay` on demo-like traffic
// stored through the real store (the fixture: users as subjects, several
// requests each, a 1% control error rate), with a definition whose SLIs are
// an error rate and a good-event ratio at the subject unit: the control
// cohort split by salted hashes of the subject must show false-fail and
// SRM rates within the harness targets, and the output says so with the
// unit it used.
// The second replay (default SLIs: error rate and latency p50/p95/p99) is
// logged for the report. (A first version hashed with plain FNV-1a, whose
// high bits split similar user ids unevenly: 80% SRM alarms and 30% false
// latency fails; the splitmix finalizer fixed it.)
func TestReplayOnStoredTraffic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	db := newTestDB(t)
	fx := fixture.DefaultOptions()
	db.insert(ctx, t, fixture.Generate(fx).Events)
	db.run(ctx, t, fx.ExperimentID, "run-aa", fx.Start, fx.Start.Add(fx.Run))
	dir := t.TempDir()
	def := `experiments:
  - id: ` + fx.ExperimentID + `
    title: A/A replay
    hypothesis: both halves of control are the same
    owner: team-test
    cohorts:
      unit: subject
      expected_split: {experiment: 0.5, control: 0.5}
    slis:
      - name: errors
        type: error_rate
        tolerance: {absolute: 0.001, direction: lower_is_better}
      - name: good
        type: good_events
        good: {status: ok}
        tolerance: {absolute: 0.001, direction: higher_is_better}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "aa.yaml"), []byte(def), 0o600))
	replay := func(dir string) (string, error) {
		f, ios := db.factory(dir)
		cmd := newRootCmd(f)
		cmd.SetArgs([]string{"replay", fx.ExperimentID, "--experiments", dir, "--run", "run-aa", "--runs", "100", "--tick", "30s"})
		cmd.SetContext(ctx)
		err := cmd.Execute()
		return ios.Out.(interface{ String() string }).String(), err
	}
	out, err := replay(dir)
	t.Log("\n" + out)
	require.NoError(t, err)
	assert.Contains(t, out, "unit: subject")
	assert.Contains(t, out, "within the harness targets (false fail <= 5%, SRM <= 1%): yes")
	// The numbers themselves: 100 salts over real units (several events
	// each), every rate within the harness's targets.
	head := regexp.MustCompile(`(\d+) events, (\d+) units \(unit: subject\), (\d+) salts`).FindStringSubmatch(out)
	require.NotNil(t, head, out)
	events, _ := strconv.Atoi(head[1])
	units, _ := strconv.Atoi(head[2])
	assert.Equal(t, "100", head[3])
	assert.Positive(t, units)
	assert.Greater(t, events, units, "several events per unit")
	for _, mode := range []string{"compare (once)", "live (any look)"} {
		m := regexp.MustCompile(regexp.QuoteMeta(mode) + `\s+([\d.]+)%\s+([\d.]+)%`).FindStringSubmatch(out)
		require.NotNil(t, m, "%s line in\n%s", mode, out)
		fail, _ := strconv.ParseFloat(m[1], 64)
		srm, _ := strconv.ParseFloat(m[2], 64)
		assert.LessOrEqual(t, fail, 5.0, "%s false fail %%", mode)
		assert.LessOrEqual(t, srm, 1.0, "%s SRM false alarm %%", mode)
	}

	out, err = replay(t.TempDir())
	t.Logf("default SLIs, err %v:\n%s", err, out)
}
