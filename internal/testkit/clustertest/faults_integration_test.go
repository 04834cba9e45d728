//go:build integration

package clustertest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/steadystate/steadystate/pipeline/bus"

	"github.com/steadystate/steadystate/internal/testkit/freeport"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/clustertest"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// The fault tests stop and kill the shared cluster's engines, so they run
// one after the other (no t.Parallel) and restart what they stopped.

func genEvents(lo, hi int, exp string) []telemetry.Event {
	base := time.Now().Add(-time.Hour).UnixNano()
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
		}
	}
	return out
}

// counts is what every fault test reports.
type counts struct {
	sent, acked, stored, raw, visibleDup, analysis uint64
}

func (c counts) String() string {
	return fmt.Sprintf("sent %d, acknowledged %d, stored %d distinct (%d raw rows), duplicates visible to queries (FINAL) %d, analysis count %d",
		c.sent, c.acked, c.stored, c.raw, c.visibleDup, c.analysis)
}

// measure counts an experiment's events on the cluster: distinct ids, raw
// rows, rows FINAL leaves (a duplicate on two shards would survive it),
// and what the analysis view (cohort_summary) counts.
func measure(ctx context.Context, t *testing.T, c *store.Client, exp string) counts {
	t.Helper()
	var r counts
	require.NoError(t, c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT uniqExact(event_id), count() FROM %s.events WHERE experiment_id = '%s'", c.DB, exp)).Scan(&r.stored, &r.raw))
	var final uint64
	require.NoError(t, c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.events FINAL WHERE experiment_id = '%s'", c.DB, exp)).Scan(&final))
	r.visibleDup = final - r.stored
	now := time.Now()
	rows, err := c.Query(ctx, "analyze/cohort_summary.sql", map[string]any{
		"experiment_id": exp, "since_s": now.Add(-24 * time.Hour).Unix(), "until_s": now.Add(time.Hour).Unix(), "service": "", "operation": "",
	})
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var cohort string
		var n, e uint64
		require.NoError(t, rows.Scan(&cohort, &n, &e))
		r.analysis += n
	}
	require.NoError(t, rows.Err())
	return r
}

func waitStored(ctx context.Context, t *testing.T, c *store.Client, exp string, want uint64, within time.Duration) {
	t.Helper()
	waitScalar(ctx, t, c, fmt.Sprintf("SELECT uniqExact(event_id) FROM {DB}.events WHERE experiment_id = '%s'", exp), want, within)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	return freeport.Addr(t)
}

// restart brings back whatever the test stopped.
func restart(t *testing.T) {
	t.Helper()
	began := time.Now()
	out, err := clustertest.Up()
	require.NoError(t, err, out)
	t.Logf("restarted the stopped engines in %s", time.Since(began).Round(100*time.Millisecond))
}

// TestClusterKafkaLeaderStopped: SIGKILL the broker leading partition 0
// while clients post events to `ingest serve`. Serve answers 200 only for
// records the in-sync replicas acknowledged (acks=all, min ISR 2 of RF 3,
// so the two remaining brokers keep accepting); every acknowledged event
// is stored.
func TestClusterKafkaLeaderStopped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cl := clustertest.OpenDB(t)
	topic := clustertest.Topic(t, 6)
	env := cl.Env()
	httpAddr := freeAddr(t)
	serve := startProc(t, env, "ingest", "serve", "--http", httpAddr, "--grpc", freeAddr(t), "--admin", freeAddr(t), "--topic", topic, "--partitions", "6")
	startSink(t, env, topic, "leader-sink")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("tcp", httpAddr); err == nil {
			_ = c.Close()
			break
		}
		require.True(t, time.Now().Before(deadline), "ingest serve did not listen:\n%s", serve.Logs())
	}
	url := "http://" + httpAddr + "/v1/events"

	var (
		mu       sync.Mutex
		okIDs    []string
		statuses = map[int]int{}
		stop     atomic.Bool
		killedAt atomic.Int64 // unix ns
		firstAck atomic.Int64 // unix ns of the first 200 to a request sent after the kill
		seq      atomic.Int64
		sent     atomic.Int64
		wg       sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Timeout: 30 * time.Second}
			for !stop.Load() {
				var body bytes.Buffer
				var ids []string
				for i := 0; i < 50; i++ {
					id := fmt.Sprintf("leader-%07d", seq.Add(1))
					ids = append(ids, id)
					fmt.Fprintf(&body, `{"event_id":%q,"service":"checkout","name":"op","experiment_id":"leader","cohort":"control"}`+"\n", id)
				}
				sent.Add(50)
				began := time.Now().UnixNano()
				resp, err := hc.Post(url, "application/x-ndjson", &body)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				if resp.StatusCode == http.StatusOK {
					okIDs = append(okIDs, ids...)
					if k := killedAt.Load(); k > 0 && began > k {
						firstAck.CompareAndSwap(0, time.Now().UnixNano())
					}
				}
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	time.Sleep(4 * time.Second)
	leader := partitionLeader(ctx, t, topic, 0)
	require.NoError(t, clustertest.Signal(fmt.Sprintf("kafka%d", leader), syscall.SIGKILL))
	killedAt.Store(time.Now().UnixNano())
	mu.Lock()
	atKill := len(okIDs)
	mu.Unlock()
	t.Logf("SIGKILLed broker %d, the leader of partition 0, after %d acknowledged events", leader, atKill)
	// Kafka moves the leaders after electing a new controller (when the
	// killed broker was the active one) and fencing the dead broker
	// (broker.session.timeout.ms 6s): ~7-12s on a loaded 2-core machine.
	time.Sleep(20 * time.Second)
	mu.Lock()
	duringOutage := len(okIDs) - atKill
	mu.Unlock()
	failover := "never"
	if f := firstAck.Load(); f > 0 {
		failover = time.Duration(f - killedAt.Load()).Round(100 * time.Millisecond).String()
	}
	restart(t)
	time.Sleep(3 * time.Second)
	stop.Store(true)
	wg.Wait()

	want := map[string]bool{}
	for _, id := range okIDs {
		want[id] = true
	}
	// Wait for the acknowledged ids themselves: the total also counts
	// records of requests answered 503 that Kafka took in part.
	missing := len(want)
	var missed []string
	for deadline := time.Now().Add(3 * time.Minute); missing > 0 && time.Now().Before(deadline); {
		rows, err := cl.Conn.Query(ctx, fmt.Sprintf("SELECT DISTINCT event_id FROM %s.events WHERE experiment_id = 'leader'", cl.DB))
		require.NoError(t, err)
		have := map[string]bool{}
		for rows.Next() {
			var id string
			require.NoError(t, rows.Scan(&id))
			have[id] = true
		}
		rows.Close()
		missing, missed = 0, missed[:0]
		for id := range want {
			if !have[id] {
				missing++
				if len(missed) < 10 {
					missed = append(missed, id)
				}
			}
		}
		if missing > 0 {
			time.Sleep(time.Second)
		}
	}
	got := measure(ctx, t, cl.Client, "leader")
	got.sent, got.acked = uint64(sent.Load()), uint64(len(want))
	t.Logf("Kafka leader SIGKILL: responses %v; %d acknowledged while the broker was down, the first %s after the kill; %s",
		statuses, duringOutage, failover, got)
	assert.Zero(t, missing, "every event answered 200 is stored; missing e.g. %v", missed)
	assert.Positive(t, duringOutage, "ingest kept acknowledging on the two remaining brokers (min.insync.replicas 2)")
	assert.Zero(t, statuses[http.StatusInternalServerError], "never 500")
	assert.Zero(t, got.visibleDup, "no duplicate visible after FINAL")
	assert.Equal(t, got.stored, got.analysis, "the analysis counts each stored event once")
}

func partitionLeader(ctx context.Context, t *testing.T, topic string, p int) int {
	t.Helper()
	tr := bus.NewTransport()
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(clustertest.Brokers...), Timeout: 10 * time.Second, Transport: tr}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	require.NoError(t, err)
	for _, part := range md.Topics[0].Partitions {
		if part.ID == p {
			return part.Leader.ID
		}
	}
	t.Fatalf("no partition %d in %s", p, topic)
	return 0
}

// TestClusterClickHouseReplicaKilled: SIGKILL the ClickHouse server the
// sink is connected to (shard 1, replica 1) while it inserts. The sink
// keeps inserting through the next server in its address list, whose
// Distributed table writes shard 1 to the surviving replica; after the
// restart the killed replica fetches what it missed from its peer.
func TestClusterClickHouseReplicaKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cl := clustertest.OpenDB(t)
	topic := clustertest.Topic(t, 6)
	const n = 30_000
	events := genEvents(0, n, "chkill")
	sink := startSink(t, cl.Env(), topic, "chkill-sink", "--max-rows", "2000")
	require.NoError(t, publish(ctx, clustertest.Brokers, topic, events[:n/3]))
	waitStored(ctx, t, cl.Client, "chkill", 1, time.Minute)
	require.NoError(t, clustertest.Signal("ch0", syscall.SIGKILL))
	killedAt := time.Now()
	// Reads go through the surviving servers while ch0 is down.
	survivor := clustertest.Config(t)
	survivor.Addr, survivor.Database = strings.Join(clustertest.CHAddrs[1:], ","), cl.Cfg.Database
	sc, err := store.Open(ctx, survivor)
	require.NoError(t, err)
	defer sc.Close()
	require.NoError(t, publish(ctx, clustertest.Brokers, topic, events[n/3:]))
	// With ch0 dead, everything must still arrive (through ch1..ch3).
	waitStored(ctx, t, sc, "chkill", n, 3*time.Minute)
	during := measure(ctx, t, sc, "chkill")
	t.Logf("stored %d of %d within %s while ch0 was down", during.stored, n, time.Since(killedAt).Round(time.Second))
	assert.Equal(t, uint64(n), during.stored, "the sink kept inserting through the other replica")
	restart(t)
	local := func(i int) uint64 {
		return shardScalar(ctx, t, i, cl.Cfg.Database, "SELECT uniqExact(event_id) FROM {DB}.events_local WHERE experiment_id = 'chkill'")
	}
	require.Eventually(t, func() bool { return local(0) == local(1) && local(0) > 0 }, 3*time.Minute, time.Second,
		"the killed replica catches up with its peer")
	// Equal events_local says nothing of the views' tables, which replicate
	// through queues of their own: a Distributed read may pick the
	// restarted replica while its cohort_stats_local is still fetching
	// (seen once: an analysis count of 28,450 of 30,000). Catch-up means
	// every replicated table, as ClickHouse's SYSTEM SYNC REPLICA defines it.
	before := measure(ctx, t, cl.Client, "chkill")
	syncReplicas(ctx, t, 0, cl.Cfg.Database)
	got := measure(ctx, t, cl.Client, "chkill")
	t.Logf("analysis count once events_local matched: %d; after SYSTEM SYNC REPLICA of every table: %d", before.analysis, got.analysis)
	got.sent, got.acked = n, n
	t.Logf("ClickHouse replica SIGKILL: %s; shard 1 replicas %d/%d distinct after catch-up; sink log mentions retries: %v",
		got, local(0), local(1), strings.Contains(sink.Logs(), "insert"))
	assert.Equal(t, uint64(n), got.stored)
	assert.Zero(t, got.visibleDup, "no duplicate visible after FINAL")
	assert.Equal(t, uint64(n), got.analysis, "the analysis counts each event once")
}

// syncReplicas waits on server n until every replicated table of db has
// fetched what its replication queue lists (SYSTEM SYNC REPLICA).
func syncReplicas(ctx context.Context, t *testing.T, n int, db string) {
	t.Helper()
	c := serverClient(ctx, t, n, db)
	defer c.Close()
	rows, err := c.Conn.Query(ctx, fmt.Sprintf("SELECT name FROM system.tables WHERE database = '%s' AND engine LIKE 'Replicated%%'", db))
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		tables = append(tables, name)
	}
	require.NoError(t, rows.Err())
	rows.Close()
	require.NotEmpty(t, tables, "replicated tables of %s on server %d", db, n)
	for _, tbl := range tables {
		began := time.Now()
		require.NoError(t, c.Conn.Exec(ctx, fmt.Sprintf("SYSTEM SYNC REPLICA `%s`.`%s`", db, tbl)), "sync %s on server %d", tbl, n)
		if d := time.Since(began); d > time.Second {
			t.Logf("server %d: %s synced in %s", n, tbl, d.Round(100*time.Millisecond))
		}
	}
}

// TestClusterSinkKilled: two sinks in one group, SIGKILL one mid-stream.
// Its partitions move to the other after the session timeout, nothing is
// lost, and the records it inserted but never committed, delivered again,
// are duplicates no query sees: the sharding key (cityHash64(event_id))
// puts both copies on one shard, where FINAL and the distinct counts
// collapse them. A 1 % producer retry makes duplicates certain.
func TestClusterSinkKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cl := clustertest.OpenDB(t)
	topic := clustertest.Topic(t, 6)
	const n = 40_000
	events := genEvents(0, n, "sinkkill")
	a := startSink(t, cl.Env(), topic, "kill-group", "--max-rows", "1000")
	b := startSink(t, cl.Env(), topic, "kill-group", "--max-rows", "1000")
	require.NoError(t, publish(ctx, clustertest.Brokers, topic, events[:n/2]))
	waitStored(ctx, t, cl.Client, "sinkkill", n/8, time.Minute)
	require.NoError(t, a.Cmd.Process.Signal(syscall.SIGKILL))
	<-a.Done()
	require.NoError(t, publish(ctx, clustertest.Brokers, topic, events[n/2:]))
	require.NoError(t, publish(ctx, clustertest.Brokers, topic, events[:n/100]))
	waitStored(ctx, t, cl.Client, "sinkkill", n, 3*time.Minute)
	// Every distinct event stored is not every record consumed: the
	// re-published ones can still wait in a partition when the last new
	// event is stored (raw rows then equal the distinct events, as a
	// make test run once saw). Stop the sink once its group has committed
	// every partition to the end.
	waitCaughtUp(ctx, t, topic, "kill-group", 2*time.Minute)
	b.Stop(t, 60*time.Second)
	got := measure(ctx, t, cl.Client, "sinkkill")
	got.sent, got.acked = n+n/100, n+n/100
	t.Logf("sink SIGKILL: %s (%d raw duplicate rows, none visible)", got, got.raw-got.stored)
	assert.Equal(t, uint64(n), got.stored, "nothing lost")
	assert.Greater(t, got.raw, got.stored, "duplicates were inserted (the 1 %% re-publish)")
	assert.Zero(t, got.visibleDup, "no duplicate visible after FINAL")
	assert.Equal(t, uint64(n), got.analysis, "the analysis counts each event once")
}

// TestClusterZooKeeperOutage: SIGKILL ZooKeeper during inserts. The
// replicated tables turn read-only, the sink's inserts fail loudly and are
// retried with the same rows, and no offset is committed past what is
// stored; after ZooKeeper returns everything arrives once.
func TestClusterZooKeeperOutage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cl := clustertest.OpenDB(t)
	topic := clustertest.Topic(t, 6)
	const n = 20_000
	events := genEvents(0, n, "zk")
	group := "zk-sink"
	sink := startSink(t, cl.Env(), topic, group, "--max-rows", "1000")
	require.NoError(t, publish(ctx, clustertest.Brokers, topic, events[:n/4]))
	waitStored(ctx, t, cl.Client, "zk", n/4, 2*time.Minute)
	require.NoError(t, clustertest.Signal("zk", syscall.SIGKILL))
	require.NoError(t, publish(ctx, clustertest.Brokers, topic, events[n/4:]))
	// Through the outage: committed offsets never run ahead of stored rows
	// (one record is one event; the topic holds nothing else).
	var maxAhead int64
	var storedDuring uint64
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		committed := committedTotal(ctx, t, topic, group)
		var stored uint64
		if err := cl.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.events WHERE experiment_id = 'zk'", cl.DB)).Scan(&stored); err == nil {
			storedDuring = stored
			maxAhead = max(maxAhead, committed-int64(stored))
		}
	}
	loud := strings.Count(sink.Logs(), "level=WARN") + strings.Count(sink.Logs(), "level=ERROR")
	restart(t)
	waitStored(ctx, t, cl.Client, "zk", n, 3*time.Minute)
	sink.Stop(t, 60*time.Second)
	got := measure(ctx, t, cl.Client, "zk")
	got.sent, got.acked = n, n
	t.Logf("ZooKeeper outage: %s; %d rows stored during the outage; committed offsets at most %d ahead of stored rows; %d warnings logged",
		got, storedDuring, maxAhead, loud)
	assert.LessOrEqual(t, maxAhead, int64(0), "no offset committed past what was stored")
	assert.Less(t, storedDuring, uint64(n), "the outage did stop inserts")
	assert.Positive(t, loud, "failed inserts are logged")
	assert.Equal(t, uint64(n), got.stored)
	assert.Zero(t, got.visibleDup)
	assert.Equal(t, uint64(n), got.analysis)
}

// waitCaughtUp waits until group's committed offset on every partition of
// the 6-partition topic is its high-water mark, or fails after within.
func waitCaughtUp(ctx context.Context, t *testing.T, topic, group string, within time.Duration) {
	t.Helper()
	client, done := groupClient()
	defer done()
	var hwm, committed map[int]int64
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		var err error
		hwm, committed, err = bus.Offsets(ctx, client, topic, group, sixPartitions)
		require.NoError(t, err)
		behind := false
		for p, end := range hwm {
			behind = behind || committed[p] < end
		}
		if !behind {
			return
		}
	}
	t.Fatalf("group %s did not commit %s to the end within %s: high-water marks %v, committed %v", group, topic, within, hwm, committed)
}

// sixPartitions are the partitions of the fault tests' topics
// (clustertest.Topic(t, 6)).
var sixPartitions = []int{0, 1, 2, 3, 4, 5}

// groupClient is a Kafka client of the cluster's brokers on a transport
// of its own; done closes the transport's connections.
func groupClient() (client *kafka.Client, done func()) {
	tr := bus.NewTransport()
	return &kafka.Client{Addr: kafka.TCP(clustertest.Brokers...), Timeout: 10 * time.Second, Transport: tr}, tr.CloseIdleConnections
}

func committedTotal(ctx context.Context, t *testing.T, topic, group string) int64 {
	t.Helper()
	client, done := groupClient()
	defer done()
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: sixPartitions}})
	require.NoError(t, err)
	var sum int64
	for _, p := range resp.Topics[topic] {
		if p.CommittedOffset > 0 {
			sum += p.CommittedOffset
		}
	}
	return sum
}

// TestClusterRetriedInsertReachesViews: the failure behind the views'
// undercount after a ZooKeeper outage, made deterministic. An insert that
// fails after a shard's replicated events table committed its block (here:
// a view that throws for one event, sorted before the real views; in an
// outage: ZooKeeper lost right after the commit, "Unknown status, client
// must retry") is retried by the sink with the same rows. ClickHouse 18.16
// deduplicates the retried block in events_local and then skips every
// materialized view for it, so without insert_deduplicate=0 the views never
// count those rows although the raw table holds them.
func TestClusterRetriedInsertReachesViews(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cl := clustertest.OpenDB(t)
	topic := clustertest.Topic(t, 6)
	const n = 3000
	events := genEvents(0, n, "retried")
	poison := events[n/2].ID
	exec := func(sql string) {
		t.Helper()
		require.NoError(t, cl.Conn.Exec(ctx, strings.NewReplacer("{DB}", cl.DB, "{C}", cl.Cfg.Cluster).Replace(sql)), sql)
	}
	exec(fmt.Sprintf("CREATE MATERIALIZED VIEW {DB}.a_poison_local ON CLUSTER {C} ENGINE = Null AS SELECT throwIf(event_id = '%s') AS x FROM {DB}.events_local", poison))
	sink := startSink(t, cl.Env(), topic, "retried-sink", "--max-rows", "5000", "--max-age", "2s")
	require.NoError(t, publish(ctx, clustertest.Brokers, topic, events))
	sink.WaitLog(t, "insert failed; retrying the same rows", 2*time.Minute)
	// The failed insert left the poison's shard block in events_local
	// (committed before the views ran) and nothing in that shard's views.
	rawBefore := scalar(ctx, t, cl.Client, "SELECT uniqExact(event_id) FROM {DB}.events WHERE experiment_id = 'retried'")
	exec("DROP TABLE {DB}.a_poison_local ON CLUSTER {C}")
	waitStored(ctx, t, cl.Client, "retried", n, 2*time.Minute)
	// Let the sink finish the retried insert's views and commit.
	require.Eventually(t, func() bool { return committedTotal(ctx, t, topic, "retried-sink") >= n }, time.Minute, 200*time.Millisecond)
	sink.Stop(t, 60*time.Second)
	got := measure(ctx, t, cl.Client, "retried")
	got.sent, got.acked = n, n
	t.Logf("retried insert after a partial commit: %s; %d rows were in events before the retry; sink retries logged %d",
		got, rawBefore, strings.Count(sink.Logs(), "insert failed; retrying the same rows"))
	assert.Positive(t, rawBefore, "the failed insert had committed a block to events_local")
	assert.Equal(t, uint64(n), got.stored)
	assert.Zero(t, got.visibleDup)
	assert.Equal(t, uint64(n), got.analysis, "the views count every stored event after the retry")
}
