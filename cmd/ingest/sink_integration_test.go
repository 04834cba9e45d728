//go:build integration

package main_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/faultproxy"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/internal/testkit/proctest"
	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/produce"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

var ingestBin string

func TestMain(m *testing.M) {
	// Built with -race when the tests run under it (proctest.Build).
	dir, err := proctest.Build("ingest")
	if err != nil {
		panic(err)
	}
	ingestBin = filepath.Join(dir, "ingest")
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// eventsN scales the fault tests: about 100k in `make test`, more in
// `make soak` (STEADYSTATE_SOAK_EVENTS=1000000).
func eventsN(t *testing.T) int {
	t.Helper()
	if v := os.Getenv("STEADYSTATE_SOAK_EVENTS"); v != "" {
		var n int
		_, err := fmt.Sscan(v, &n)
		require.NoError(t, err)
		return n
	}
	return 100_000
}

func genEvents(n int, exp string) []telemetry.Event {
	return genRange(0, n, exp, time.Now().Add(-time.Hour).UnixNano())
}

// genRange makes events lo..hi-1 of a run whose first event is at base.
func genRange(lo, hi int, exp string, base int64) []telemetry.Event {
	out := make([]telemetry.Event, hi-lo)
	for j := range out {
		i := lo + j
		cohort := telemetry.CohortControl
		if i%2 == 1 {
			cohort = telemetry.CohortExperiment
		}
		out[j] = telemetry.Event{
			ID: fmt.Sprintf("%s-%08d", exp, i), TimeNs: base + int64(i)*int64(time.Millisecond), IngestNs: time.Now().UnixNano(),
			Kind: telemetry.KindSpan, Service: "checkout", Name: "GET /checkout", TraceID: fmt.Sprintf("%032x", i),
			ExperimentID: exp, Cohort: cohort, Status: telemetry.StatusOK, HTTPStatus: 200, DurationNs: uint64(i % 1000 * 1000),
			AttrKeys: []string{"i"}, AttrValues: []string{fmt.Sprint(i)},
		}
	}
	return out
}

func publish(ctx context.Context, t *testing.T, topic string, events []telemetry.Event) {
	t.Helper()
	require.NoError(t, publishErr(ctx, topic, events))
}

func publishErr(ctx context.Context, topic string, events []telemetry.Event) error {
	cfg := produce.NewDefaultConfig()
	cfg.Topic, cfg.Brokers = topic, kafkatest.Brokers()
	p, err := produce.New(cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	for lo := 0; lo < len(events); lo += 5000 {
		if err := p.Publish(ctx, events[lo:min(lo+5000, len(events))]); err != nil {
			return err
		}
	}
	return nil
}

// sinkProc runs `ingest sink` as a child process, its stderr in a file.
type sinkProc struct {
	cmd  *exec.Cmd
	log  string
	done chan error
}

func startSink(t *testing.T, db, chAddr, topic, group string, extra ...string) *sinkProc {
	t.Helper()
	args := append([]string{"sink", "--topic", topic, "--group", group, "--admin", "127.0.0.1:0", "--max-age", "200ms", "--max-rows", "5000"}, extra...)
	cmd := exec.Command(ingestBin, args...)
	cmd.Env = append(os.Environ(), store.EnvDatabase+"="+db, store.EnvAddr+"="+chAddr)
	f, err := os.CreateTemp(t.TempDir(), "sink-*.log")
	require.NoError(t, err)
	cmd.Stderr = f
	require.NoError(t, cmd.Start())
	p := &sinkProc{cmd: cmd, log: f.Name(), done: make(chan error, 1)}
	go func() {
		err := cmd.Wait()
		_ = f.Close()
		p.done <- err
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return p
}

// waitRunning waits until the sink logged that it runs (its signal
// handler is installed from then on).
func (p *sinkProc) waitRunning(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(p.Logs(), "sink running") {
			return
		}
	}
	t.Fatalf("sink did not start:\n%s", p.Logs())
}

func (p *sinkProc) Logs() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func distinctCount(ctx context.Context, t *testing.T, c *store.Client, exp string) (distinct, raw uint64) {
	t.Helper()
	require.NoError(t, c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT uniqExact(event_id), count() FROM %s.events WHERE experiment_id = '%s'", c.DB, exp)).Scan(&distinct, &raw))
	return distinct, raw
}

// analysisCount is what the analysis queries report: the sum over cohorts
// of analyze/cohort_summary.sql (the view) over the whole day.
func analysisCount(ctx context.Context, t *testing.T, c *store.Client, exp string) uint64 {
	t.Helper()
	now := time.Now()
	rows, err := c.Query(ctx, "analyze/cohort_summary.sql", map[string]any{
		"experiment_id": exp, "since_s": now.Add(-24 * time.Hour).Unix(), "until_s": now.Add(time.Hour).Unix(), "service": "", "operation": "",
	})
	require.NoError(t, err)
	defer rows.Close()
	var total uint64
	for rows.Next() {
		var cohort string
		var n, e uint64
		require.NoError(t, rows.Scan(&cohort, &n, &e))
		total += n
	}
	require.NoError(t, rows.Err())
	return total
}

// waitAnalysis polls analysisCount until it reaches want: an insert makes
// its events rows visible a moment before its cohort_stats rows.
func waitAnalysis(ctx context.Context, t *testing.T, c *store.Client, exp string, want uint64, within time.Duration) uint64 {
	t.Helper()
	deadline := time.Now().Add(within)
	var got uint64
	for time.Now().Before(deadline) {
		if got = analysisCount(ctx, t, c, exp); got >= want {
			return got
		}
		time.Sleep(250 * time.Millisecond)
	}
	return got
}

func waitCount(ctx context.Context, t *testing.T, c *store.Client, exp string, want uint64, within time.Duration) uint64 {
	t.Helper()
	deadline := time.Now().Add(within)
	var got uint64
	for time.Now().Before(deadline) {
		got, _ = distinctCount(ctx, t, c, exp)
		if got >= want {
			return got
		}
		time.Sleep(250 * time.Millisecond)
	}
	return got
}

// partitionsOf returns a client for the shared broker and the partition
// ids of a topic.
func partitionsOf(ctx context.Context, t *testing.T, topic string) (*kafka.Client, []int) {
	t.Helper()
	tr := bus.NewTransport()
	t.Cleanup(tr.CloseIdleConnections)
	client := &kafka.Client{Addr: kafka.TCP(kafkatest.Brokers()...), Timeout: 10 * time.Second, Transport: tr}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	require.NoError(t, err)
	var parts []int
	for _, p := range md.Topics[0].Partitions {
		parts = append(parts, p.ID)
	}
	return client, parts
}

func committedOffsets(ctx context.Context, t *testing.T, topic, group string) map[int]int64 {
	t.Helper()
	client, parts := partitionsOf(ctx, t, topic)
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	require.NoError(t, err)
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

func endOffsets(ctx context.Context, t *testing.T, topic string) map[int]int64 {
	t.Helper()
	client, parts := partitionsOf(ctx, t, topic)
	req := map[string][]kafka.OffsetRequest{}
	for _, p := range parts {
		req[topic] = append(req[topic], kafka.LastOffsetOf(p))
	}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	require.NoError(t, err)
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		out[p.Partition] = p.LastOffset
	}
	return out
}

// SIGKILL the sink five times mid-run: nothing the producer got
// acknowledged is lost, and no duplicate reaches an analysis answer.
func TestSinkSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	n := eventsN(t)
	c := chtest.Open(t)
	topic := kafkatest.Topic(t, 6)
	group := topic + ".sink"
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	events := genEvents(n, "kill")
	// The sink drains 100k records in about a second, so the topic fills
	// a sixth at a time, one sixth per sink life, and the sinks insert
	// 1000 rows at a time: every kill lands while records are in flight.
	sixth := n / 6
	publish(ctx, t, topic, events[:sixth])

	r := rand.New(rand.NewPCG(1, 2))
	kills := 0
	var last uint64
	for kills < 5 {
		p := startSink(t, c.DB, store.NewDefaultConfig().Addr, topic, group, "--max-rows", "1000")
		publish(ctx, t, topic, events[(kills+1)*sixth:(kills+2)*sixth])
		// Wait until this sink inserts (the group has rebalanced), then kill
		// it at a random moment of its 200 ms batch cycle: mid-batch,
		// mid-insert, or between insert and commit.
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if got, _ := distinctCount(ctx, t, c, "kill"); got > last {
				break
			}
		}
		time.Sleep(time.Duration(r.IntN(600)) * time.Millisecond)
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		exitErr := <-p.done // "signal: killed" is expected; only that the sink exited matters
		kills++
		last, _ = distinctCount(ctx, t, c, "kill")
		t.Logf("kill %d (%v): %d distinct rows stored so far", kills, exitErr, last)
	}
	// Whether a kill landed between insert and commit is up to timing; a
	// producer retry is not: publish the first 1 % again, so duplicate rows
	// are certainly inserted and the analysis count below must dedupe them.
	publish(ctx, t, topic, events[6*sixth:])
	publish(ctx, t, topic, events[:n/100])
	p := startSink(t, c.DB, store.NewDefaultConfig().Addr, topic, group)
	got := waitCount(ctx, t, c, "kill", uint64(n), 3*time.Minute)
	distinct, raw := distinctCount(ctx, t, c, "kill")
	t.Logf("after 5 kills and a 1 %% re-publish: %d distinct of %d sent, %d raw rows (%d duplicates not yet merged away, invisible to queries)", distinct, n, raw, raw-distinct)
	assert.Equal(t, uint64(n), got, "every acknowledged event is stored")
	assert.Equal(t, uint64(n), waitAnalysis(ctx, t, c, "kill", uint64(n), 30*time.Second), "the analysis view counts each event once")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-p.done, p.Logs())
}

// SIGTERM under load flushes, commits and exits 0; a restarted sink has
// nothing left to redeliver.
func TestSinkSIGTERMFlushesAndCommits(t *testing.T) {
	t.Parallel()
	n := eventsN(t) / 2
	c := chtest.Open(t)
	topic := kafkatest.Topic(t, 6)
	group := topic + ".sink"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Load keeps arriving (10k events/s) until a second after the signal
	// and at least n events, so the batch being filled when the signal lands is never empty.
	base := time.Now().Add(-time.Hour).UnixNano()
	var sent atomic.Int64
	stopLoad := make(chan struct{})
	loadDone := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stopLoad:
				loadDone <- nil
				return
			case <-time.After(50 * time.Millisecond):
			}
			lo := int(sent.Load())
			if err := publishErr(ctx, topic, genRange(lo, lo+500, "term", base)); err != nil {
				loadDone <- err
				return
			}
			sent.Add(500)
		}
	}()

	// Batches flush every 2 s: the signal goes out right after the first
	// insert, so the rows fetched since then are only stored if SIGTERM
	// flushes them.
	p := startSink(t, c.DB, store.NewDefaultConfig().Addr, topic, group, "--max-age", "2s", "--max-rows", "1000000")
	var before uint64
	for before == 0 {
		_, before = distinctCount(ctx, t, c, "term")
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		require.NoError(t, err, "exit 0 after SIGTERM\n%s", p.Logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("sink did not exit within 30s of SIGTERM\n%s", p.Logs())
	}
	_, after := distinctCount(ctx, t, c, "term")
	t.Logf("rows stored at the signal %d, after the exit %d", before, after)
	assert.Greater(t, after, before, "the batch being filled at SIGTERM was flushed")
	assert.Contains(t, p.Logs(), "sink stopped cleanly")

	// Everything fetched before the signal is stored and committed.
	committed := committedOffsets(ctx, t, topic, group)
	var committedTotal int64
	for _, o := range committed {
		committedTotal += max(o, 0)
	}
	distinct, raw := distinctCount(ctx, t, c, "term")
	assert.Equal(t, uint64(committedTotal), raw, "rows stored = offsets committed: nothing stored is uncommitted")
	assert.Equal(t, distinct, raw)

	time.Sleep(time.Second)
	for int(sent.Load()) < n { // at least the run's size (about 500k in make soak)
		time.Sleep(50 * time.Millisecond)
	}
	close(stopLoad)
	require.NoError(t, <-loadDone)
	n = int(sent.Load())
	t.Logf("%d events published under load", n)

	// A restart continues where the first stopped: no record twice.
	p2 := startSink(t, c.DB, store.NewDefaultConfig().Addr, topic, group)
	got := waitCount(ctx, t, c, "term", uint64(n), 2*time.Minute)
	assert.Equal(t, uint64(n), got)
	_, raw = distinctCount(ctx, t, c, "term")
	assert.Equal(t, uint64(n), raw, "nothing was redelivered after the clean restart")
	p2.waitRunning(t)
	require.NoError(t, p2.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-p2.done, p2.Logs())
	assert.Equal(t, endOffsets(ctx, t, topic), committedOffsets(ctx, t, topic, group))
}

// Poison records go to the dead-letter topic with their provenance; good
// records on the same partitions keep flowing.
func TestSinkDeadLettersPoison(t *testing.T) {
	t.Parallel()
	n := eventsN(t) / 2
	c := chtest.Open(t)
	topic := kafkatest.Topic(t, 3)
	group := topic + ".sink"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	good := genEvents(n, "poison")
	var msgs []kafka.Message
	poison := 0
	kinds := []func(i int) []byte{
		func(i int) []byte { return []byte(`{"event_id": "broken`) },                                            // malformed JSON
		func(i int) []byte { return []byte(fmt.Sprintf(`{"event_id":"p%d","duration_ns":"slow"}`, i)) },         // wrong type
		func(i int) []byte { return []byte(`{"event_id":"big","body":"` + strings.Repeat("x", 70<<10) + `"}`) }, // oversize
		func(i int) []byte { return []byte(fmt.Sprintf(`{"event_id":"p%d","event_time_ns":1}`, i)) },            // rejected row: time out of range
	}
	for i := range good {
		msgs = append(msgs, kafka.Message{Key: []byte(good[i].TraceID), Value: good[i].AppendJSON(nil)})
		if i%1000 == 999 { // 0.1 %
			msgs = append(msgs, kafka.Message{Key: []byte(good[i].TraceID), Value: kinds[poison%len(kinds)](i)})
			poison++
		}
	}
	// A transport of its own, first used now that the topic exists: the
	// shared default one serves metadata from a cache up to 6 s old and
	// answered "Unknown Topic Or Partition" for this new topic once.
	tr := bus.NewTransport()
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(kafkatest.Brokers()...), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, Transport: tr}
	require.NoError(t, w.WriteMessages(ctx, msgs...))
	require.NoError(t, w.Close())

	dlq := topic + ".dlq"
	t.Cleanup(func() { _ = bus.DeleteTopic(context.Background(), kafkatest.Brokers(), dlq) })
	p := startSink(t, c.DB, store.NewDefaultConfig().Addr, topic, group, "--max-event-bytes", "65536")
	got := waitCount(ctx, t, c, "poison", uint64(n), 3*time.Minute)
	assert.Equal(t, uint64(n), got, "every good record is stored")

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: kafkatest.Brokers(), Topic: dlq, Partition: 0, MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	dead := 0
	for dead < poison {
		rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
		m, err := r.ReadMessage(rctx)
		rcancel()
		require.NoError(t, err, "dead letters so far: %d of %d", dead, poison)
		headers := map[string]string{}
		for _, h := range m.Headers {
			headers[h.Key] = string(h.Value)
		}
		assert.Equal(t, topic, headers["steadystate.source.topic"])
		assert.NotEmpty(t, headers["steadystate.source.partition"])
		assert.NotEmpty(t, headers["steadystate.source.offset"])
		assert.NotEmpty(t, headers["steadystate.error"])
		assert.NotEmpty(t, headers["steadystate.time"])
		dead++
	}
	rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
	_, err := r.ReadMessage(rctx)
	rcancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "no more dead letters than poison records")
	t.Logf("%d good records stored, %d poison records dead-lettered", got, dead)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-p.done, p.Logs())
	assert.Equal(t, endOffsets(ctx, t, topic), committedOffsets(ctx, t, topic, group), "poison never blocks commits")
}

// ClickHouse unreachable for a minute: no offsets are committed during the
// outage, retries back off (capped), and the sink recovers by itself.
func TestSinkRidesOutClickHouseOutage(t *testing.T) {
	t.Parallel()
	n := eventsN(t) / 2
	outage := 60 * time.Second
	if testing.Short() {
		outage = 15 * time.Second
	}
	c := chtest.Open(t)
	proxy := faultproxy.Start(t, store.NewDefaultConfig().Addr)
	topic := kafkatest.Topic(t, 3)
	group := topic + ".sink"
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	events := genEvents(n, "chdown")
	publish(ctx, t, topic, events[:n/2])

	p := startSink(t, c.DB, proxy.Addr(), topic, group)
	require.Equal(t, uint64(n/2), waitCount(ctx, t, c, "chdown", uint64(n/2), 2*time.Minute))
	time.Sleep(time.Second) // let the commit after the last insert land
	before := committedOffsets(ctx, t, topic, group)

	proxy.SetDown(true)
	publish(ctx, t, topic, events[n/2:])
	time.Sleep(outage)
	during := committedOffsets(ctx, t, topic, group)
	assert.Equal(t, before, during, "no offset committed while ClickHouse was unreachable")
	got, _ := distinctCount(ctx, t, c, "chdown")
	assert.Equal(t, uint64(n/2), got)
	proxy.SetDown(false)

	got = waitCount(ctx, t, c, "chdown", uint64(n), 2*time.Minute)
	assert.Equal(t, uint64(n), got, "full recovery without a restart")
	assert.Equal(t, uint64(n), waitAnalysis(ctx, t, c, "chdown", uint64(n), 30*time.Second), "the analysis view counts each event once")
	logs := p.Logs()
	assert.Contains(t, logs, "insert failed; retrying the same rows")
	// Every backoff the sink announced is at most the 30 s cap (an uncapped
	// doubling from 200 ms reaches 51.2 s within the outage).
	delays := regexp.MustCompile(`retry_in=(\S+)`).FindAllStringSubmatch(logs, -1)
	require.NotEmpty(t, delays)
	var longest time.Duration
	for _, m := range delays {
		d, err := time.ParseDuration(m[1])
		require.NoError(t, err, m[0])
		longest = max(longest, d)
	}
	t.Logf("%d retries announced, longest backoff %s", len(delays), longest)
	assert.LessOrEqual(t, longest, 30*time.Second, "backoff is capped at 30s")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-p.done, logs)
}
