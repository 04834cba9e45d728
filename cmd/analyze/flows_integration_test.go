//go:build integration

package main_test

import (
	"fmt"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/flows"
)

// Items sent through ingest, a known set of which skip stages, with 5 %
// of the events sent twice: the check lists exactly the skipping items
// with the right last stage, and the duplicates change no count.
func TestFlowsCheckThroughIngest(t *testing.T) {
	within := 3 * time.Second
	s := newStack(t, within, "")
	const n = 200
	start := time.Now().Add(-2 * time.Second)
	wantStuck := map[string]string{}     // key -> last stage
	wantMissing := map[string][]string{} // key -> missing stages
	var evs []event
	for i := range n {
		key := fmt.Sprintf("p-%04d", i)
		t0 := start.Add(time.Duration(i) * 5 * time.Millisecond)
		stages := []int{0, 1, 2, 3}
		switch i % 10 {
		case 3: // stops after content.transformed
			stages = []int{0, 1}
			wantStuck[key], wantMissing[key] = publishStages[1], publishStages[2:]
		case 7: // skips content.stored, reaches cache.purged
			stages = []int{0, 1, 3}
			wantStuck[key], wantMissing[key] = publishStages[3], []string{publishStages[2]}
		case 9: // only received
			stages = []int{0}
			wantStuck[key], wantMissing[key] = publishStages[0], publishStages[1:]
		}
		for _, st := range stages {
			evs = append(evs, stageEvent(key, st, t0.Add(time.Duration(st)*100*time.Millisecond)))
		}
	}
	dups := 0
	for i := 0; i < len(evs); i += 20 { // 5 % duplicates, in their own requests
		dups++
		evs = append(evs, evs[i])
	}
	for lo := 0; lo < len(evs); lo += 97 {
		s.send(evs[lo:min(lo+97, len(evs))]...)
	}
	t.Logf("sent %d events (%d duplicates) for %d items", len(evs), dups, n)

	lastDeadline := start.Add(n*5*time.Millisecond + within)
	rep := s.checkUntil(60*time.Second, "judged past the last deadline", judgedAfter(lastDeadline))
	require.Len(t, rep.Flows, 1)
	f := rep.Flows[0]
	assert.Equal(t, flows.PipelineOK, rep.Pipeline.State, rep.Pipeline.Message)
	assert.Equal(t, flows.Counts{Items: n, Complete: n - uint64(len(wantStuck)), Stuck: uint64(len(wantStuck))}, f.Counts)
	assert.Equal(t, flows.Counts{}, f.Synthetic)
	assert.Equal(t, flows.StatusBroken, f.Status)

	got := map[string]string{}
	for _, it := range f.Stuck {
		got[it.Key] = it.LastStage
		assert.Equal(t, wantMissing[it.Key], it.Missing, it.Key)
		assert.Positive(t, it.StuckForSeconds, it.Key)
		assert.False(t, it.Synthetic)
	}
	assert.Equal(t, wantStuck, got, "exactly the items that skipped a stage, with their last stage")
	assert.Equal(t, []flows.StageCount{
		{Stage: publishStages[0], Reached: n, StuckHere: n / 10},
		{Stage: publishStages[1], Reached: n - n/10, StuckHere: n / 10},
		{Stage: publishStages[2], Reached: n - 3*n/10},
		{Stage: publishStages[3], Reached: n - 2*n/10, StuckHere: n / 10},
	}, f.Funnel)

	// --flow, the table output and the exit code.
	_, code := s.check("--flow", "publish")
	assert.Equal(t, 3, code, "a broken flow is a verdict")
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	assert.Equal(t, keys[0], f.Stuck[0].Key, "oldest first")
}

// The sink is paused (SIGSTOP) for 30 s while items keep flowing, their
// stages spread over time so items straddle the pause: no item is ever
// reported stuck, and the report says the pipeline stalled meanwhile.
func TestFlowsNoFalseStuckWhileSinkPaused(t *testing.T) {
	within := 3 * time.Second
	s := newStack(t, within, "")

	stop := make(chan struct{})
	sent := make(chan int, 1)
	go func() {
		items := 0
		type pending struct {
			key   string
			start time.Time
			next  int
		}
		var open []pending
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		defer func() { sent <- items }()
		stopping := false
		for {
			select {
			case <-stop:
				stopping = true
			case <-tick.C:
			}
			now := time.Now()
			if !stopping {
				open = append(open, pending{key: fmt.Sprintf("live-%05d", items), start: now})
				items++
			}
			var evs []event
			kept := open[:0]
			for _, p := range open {
				// stage k is due 400ms x k after the start
				for p.next < 4 && !now.Before(p.start.Add(time.Duration(p.next)*400*time.Millisecond)) {
					evs = append(evs, stageEvent(p.key, p.next, now))
					p.next++
				}
				if p.next < 4 {
					kept = append(kept, p)
				}
			}
			open = kept
			if len(evs) > 0 {
				s.send(evs...)
			}
			if stopping && len(open) == 0 {
				return
			}
		}
	}()

	// Pause only once the sink has committed items, so some items have
	// their first stages in ClickHouse and their last ones held back.
	s.checkUntil(60*time.Second, "flowing", func(r *flows.Report) bool {
		return r.Pipeline.State == flows.PipelineOK && len(r.Flows) == 1 && r.Flows[0].Counts.Complete >= 10
	})
	require.NoError(t, s.sink.Cmd.Process.Signal(syscall.SIGSTOP))
	paused := time.Now()
	t.Log("sink paused")
	var during *flows.Report
	for time.Since(paused) < 30*time.Second {
		time.Sleep(2 * time.Second)
		rep, _ := s.check()
		require.Len(t, rep.Flows, 1)
		assert.Empty(t, rep.Flows[0].Stuck, "no stuck items while the sink is paused (%s after pausing)", time.Since(paused))
		during = rep
	}
	require.NoError(t, s.sink.Cmd.Process.Signal(syscall.SIGCONT))
	t.Log("sink resumed")
	require.NotNil(t, during)
	assert.Equal(t, flows.PipelineStalled, during.Pipeline.State, during.Pipeline.Message)
	assert.Greater(t, during.Pipeline.LagSeconds, 20.0, "the report says how far the pipeline lagged")
	assert.Contains(t, during.Pipeline.Message, "no progress")

	close(stop)
	items := <-sent
	finished := time.Now()
	rep := s.checkUntil(90*time.Second, "caught up past the last deadline", judgedAfter(finished.Add(within)))
	f := rep.Flows[0]
	assert.Equal(t, flows.PipelineOK, rep.Pipeline.State, rep.Pipeline.Message)
	assert.Empty(t, f.Stuck)
	assert.Equal(t, flows.Counts{Items: uint64(items), Complete: uint64(items)}, f.Counts)
	assert.Equal(t, flows.StatusHealthy, f.Status)
	t.Logf("%d items, none stuck; during the pause: %s", items, during.Pipeline.Message)
}
