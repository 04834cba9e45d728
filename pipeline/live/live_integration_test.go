//go:build integration

package live

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/query"
)

// A watch writes its looks' verdict history in few writes (the first
// look, then every HistoryEvery) and, when it ends, every look not
// written yet: the history holds each look once, in order.
func TestWatchWritesEveryLookOnceByTheEnd(t *testing.T) {
	c := chtest.Open(t)
	r := query.New(c)
	const exp = "history-watch"
	start := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	mon, err := analysis.NewMonitor(&analysis.Store{C: c}, analysis.Request{ExperimentID: exp, Window: analysis.Window{Since: start}}, analysis.Settings{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The watch ends after its fifth look (a JSON line each).
	out := &lookCounter{after: 5, cancel: cancel}
	var errOut bytes.Buffer
	w := &Watch{Monitor: mon, Reader: r, Interval: 100 * time.Millisecond, Out: out, ErrOut: &errOut, Now: time.Now}
	require.NoError(t, w.Run(ctx))
	looks := strings.Count(out.String(), "\n")
	require.GreaterOrEqual(t, looks, 5, "several looks: %s", errOut.String())
	rows, err := r.VerdictHistory(context.Background(), exp, analysis.HistoryLive, start, time.Now().Add(time.Minute))
	require.NoError(t, err)
	slis := len(analysis.DefaultSLIs())
	require.Len(t, rows, looks*slis, "every look once, the last ones written at the end")
	for i := slis; i < len(rows); i += slis {
		assert.True(t, rows[i].Time.After(rows[i-slis].Time), "in look order")
	}
	assert.NotContains(t, errOut.String(), "verdict history")
}

// lookCounter is a watch's output that cancels the watch once it has
// written after lines.
type lookCounter struct {
	bytes.Buffer
	after  int
	cancel context.CancelFunc
}

func (l *lookCounter) Write(p []byte) (int, error) {
	n, err := l.Buffer.Write(p)
	if strings.Count(l.String(), "\n") >= l.after {
		l.cancel()
	}
	return n, err
}
