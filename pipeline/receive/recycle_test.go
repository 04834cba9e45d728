package receive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// viewConv converts a body into one event whose name is the body itself,
// without a copy (as the tagger's JSONEventsOwned does), and counts the
// events handed back.
type viewConv struct {
	nopConv
	recycled atomic.Int64
}

func (*viewConv) JSONEvents(b []byte) ([]telemetry.Event, error) {
	return []telemetry.Event{{Name: unsafe.String(unsafe.SliceData(b), len(b))}}, nil
}

func (c *viewConv) Recycle([]telemetry.Event) { c.recycled.Add(1) }

// slowPub checks, after a pause in which other requests are read, that an
// event still reads as its request's body: a body buffer reused while its
// events were in use would show another request's bytes.
type slowPub struct {
	mu   sync.Mutex
	seen []string
	bad  []string
}

func (p *slowPub) Publish(_ context.Context, events []telemetry.Event) error {
	before := string([]byte(events[0].Name)) // a copy
	time.Sleep(2 * time.Millisecond)
	p.mu.Lock()
	defer p.mu.Unlock()
	if events[0].Name != before {
		p.bad = append(p.bad, before)
	}
	p.seen = append(p.seen, before)
	return nil
}

// /v1/events reuses a body's buffer only once its request's events were
// published and handed back: every event read as its own body for the
// whole of Publish, under 8 concurrent senders, and the events were
// recycled.
func TestEventsBodyBufferReusedOnlyAfterRecycle(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.GRPCEndpoint, cfg.HTTPEndpoint = freeAddr(t), freeAddr(t)
	conv, pub := &viewConv{}, &slowPub{}
	r, err := New(cfg, Settings{}, conv, pub)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, r.Start(ctx))
	defer func() { _ = r.Shutdown(context.Background()) }()

	const senders, each = 8, 40
	var wg sync.WaitGroup
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				body := bytes.Repeat([]byte(fmt.Sprintf("{sender %d request %d}", w, i)), 50+i%7)
				resp, err := http.Post("http://"+r.HTTPAddr()+"/v1/events", "application/x-ndjson", bytes.NewReader(body))
				if !assert.NoError(t, err) {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				assert.Equal(t, http.StatusOK, resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	pub.mu.Lock()
	defer pub.mu.Unlock()
	assert.Len(t, pub.seen, senders*each)
	assert.Empty(t, pub.bad, "events changed under Publish: their body was reused too early")
	assert.Equal(t, int64(senders*each), conv.recycled.Load())
}
