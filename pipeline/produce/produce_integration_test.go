//go:build integration

package produce

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// endOffsets sums the end offsets of topic's partitions: how many records
// the broker holds.
func endOffsets(ctx context.Context, t *testing.T, topic string) int64 {
	t.Helper()
	transport := bus.NewTransport()
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(kafkatest.Brokers()...), Timeout: 10 * time.Second, Transport: transport}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	require.NoError(t, err)
	req := map[string][]kafka.OffsetRequest{}
	for _, p := range md.Topics[0].Partitions {
		req[topic] = append(req[topic], kafka.LastOffsetOf(p.ID))
	}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	require.NoError(t, err)
	var n int64
	for _, p := range resp.Topics[topic] {
		require.NoError(t, p.Error)
		n += p.LastOffset
	}
	return n
}

// TestPublishAcknowledgedAndReadable: concurrent Publish calls return
// only once the broker holds every record (the end offsets count them the
// moment Publish returns, with no waiting), acks=all is what the writer
// asks for, and every record reads back with its event, key and headers.
func TestPublishAcknowledgedAndReadable(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	topic := kafkatest.Topic(t, 3)
	cfg := NewDefaultConfig()
	cfg.Topic = topic
	p, err := New(cfg)
	require.NoError(t, err)
	defer p.Close()
	require.Equal(t, kgo.AllISRAcks(), p.cl.OptValue(kgo.RequiredAcks), "acks=all")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const callers, perCall = 8, 50
	want := map[string]telemetry.Event{}
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		events := stageEvents(perCall)
		for i := range events {
			events[i].ID = fmt.Sprintf("produce-%d-%d", c, i)
			if i%3 == 0 {
				events[i].Flow, events[i].FlowKey = "publish", fmt.Sprintf("item-%d", i)
			}
			if i%5 == 0 {
				events[i].ExperimentID = ""
			}
			want[events[i].ID] = events[i]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, p.Publish(ctx, events))
		}()
	}
	wg.Wait()
	require.False(t, t.Failed())
	assert.Equal(t, int64(callers*perCall), endOffsets(ctx, t, topic), "every record is on the broker when Publish returns")

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: kafkatest.Brokers(), Topic: topic, GroupID: "produce-test-" + topic, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 200 * time.Millisecond})
	defer r.Close()
	seen := map[string]bool{}
	for len(seen) < callers*perCall {
		m, err := r.ReadMessage(ctx)
		require.NoError(t, err, "read back after %d records", len(seen))
		var got telemetry.Event
		require.NoError(t, telemetry.DecodeJSON(m.Value, &got))
		exp, ok := want[got.ID]
		require.True(t, ok, "unexpected record %s", got.ID)
		require.False(t, seen[got.ID], "record %s twice", got.ID)
		seen[got.ID] = true
		assert.Equal(t, Key(&exp), string(m.Key), got.ID)
		assert.Equal(t, exp.ExperimentID, got.ExperimentID)
		headers := map[string]string{}
		for _, h := range m.Headers {
			headers[h.Key] = string(h.Value)
		}
		if exp.ExperimentID != "" {
			assert.Equal(t, map[string]string{telemetry.AttrExperimentID: exp.ExperimentID, telemetry.AttrCohort: exp.Cohort.String()}, headers, got.ID)
		} else {
			assert.Empty(t, headers, got.ID)
		}
	}
	require.NoError(t, r.Close())
}

// TestPublishSurfacesFailures: a broker that does not answer, a topic
// that does not exist (auto-creation is off) and a cancelled context all
// come back from Publish as errors (ErrUnavailable, which serve answers
// with 503 / UNAVAILABLE), within a bounded time, never as success.
func TestPublishSurfacesFailures(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	events := stageEvents(3)

	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := dead.Addr().String()
	require.NoError(t, dead.Close()) // nothing listens there now

	missing := NewDefaultConfig()
	missing.Topic = fmt.Sprintf("test.produce-missing.%d", time.Now().UnixNano())
	unreachable := NewDefaultConfig()
	unreachable.Brokers, unreachable.Topic = []string{deadAddr}, "whatever"
	for name, cfg := range map[string]Config{"no broker": unreachable, "no topic": missing} {
		t.Run(name, func(t *testing.T) {
			cfg.WriteTimeout = 2 * time.Second
			p, err := New(cfg)
			require.NoError(t, err)
			defer p.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			err = p.Publish(ctx, events)
			require.ErrorIs(t, err, ErrUnavailable)
			assert.Less(t, time.Since(start), 30*time.Second)
		})
	}
	// The missing topic was not created behind our back.
	transport := bus.NewTransport()
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(kafkatest.Brokers()...), Timeout: 10 * time.Second, Transport: transport}
	md, err := client.Metadata(context.Background(), &kafka.MetadataRequest{Topics: []string{missing.Topic}})
	require.NoError(t, err)
	if assert.Len(t, md.Topics, 1) {
		assert.Error(t, md.Topics[0].Error, "the topic stays missing")
	}
	transport.CloseIdleConnections()

	t.Run("cancelled", func(t *testing.T) {
		cfg := NewDefaultConfig()
		cfg.Topic = kafkatest.Topic(t, 1)
		p, err := New(cfg)
		require.NoError(t, err)
		defer p.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err = p.Publish(ctx, events)
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// TestCloseIdempotent: Close flushes, a second Close is a no-op, Publish
// after Close fails instead of pretending, and nothing of the writer runs
// afterwards.
func TestCloseIdempotent(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	cfg := NewDefaultConfig()
	cfg.Topic = kafkatest.Topic(t, 1)
	p, err := New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, p.Publish(ctx, stageEvents(10)))
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "second Close")
	err = p.Publish(ctx, stageEvents(1))
	require.ErrorIs(t, err, ErrUnavailable, "Publish after Close")

	never, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, never.Close(), "Close without any Publish")
}

// TestPublishStampsRecordsWithTheirTime: WriteRecords reads the clock once
// per stampEvery records instead of franz-go once per record; every
// record still carries a timestamp (Kafka's CreateTime, where franz-go's
// delivery timeout starts) from within its own Publish call, in calls
// apart in time.
func TestPublishStampsRecordsWithTheirTime(t *testing.T) {
	topic := kafkatest.Topic(t, 3)
	cfg := NewDefaultConfig()
	cfg.Topic = topic
	p, err := New(cfg)
	require.NoError(t, err)
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	type window struct{ from, to time.Time }
	windows := map[string]window{}
	for c := range 3 {
		time.Sleep(30 * time.Millisecond)
		events := stageEvents(3*stampEvery + 5)
		for i := range events {
			events[i].ID = fmt.Sprintf("stamp-%d-%d", c, i)
		}
		from := time.Now().Truncate(time.Millisecond) // franz-go keeps milliseconds
		require.NoError(t, p.Publish(ctx, events))
		w := window{from, time.Now()}
		for _, e := range events {
			windows[e.ID] = w
		}
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: kafkatest.Brokers(), Topic: topic, GroupID: "stamp-test-" + topic, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 200 * time.Millisecond})
	defer r.Close()
	for n := 0; n < len(windows); n++ {
		m, err := r.ReadMessage(ctx)
		require.NoError(t, err, "read back after %d records", n)
		var got telemetry.Event
		require.NoError(t, telemetry.DecodeJSON(m.Value, &got))
		w, ok := windows[got.ID]
		require.True(t, ok, got.ID)
		assert.False(t, m.Time.Before(w.from), "%s stamped %s, its call began %s", got.ID, m.Time, w.from)
		assert.False(t, m.Time.After(w.to), "%s stamped %s, its call ended %s", got.ID, m.Time, w.to)
	}
}
