//go:build integration

package clustertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/clustertest"
	"github.com/steadystate/steadystate/internal/testkit/fixture"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/store"
)

// quantileTolerance is the documented tolerance for numbers derived from
// t-digest quantiles over a whole run (compare's latency SLIs and what is
// computed from them): a t-digest merged from two shards' digests is not
// bit-identical to one built on a single server, and which rows meet in one
// digest state depends on how the sinks happened to batch them. Relative,
// 8 %: over tens of thousands of values the 1 % rank error moves a
// quantile by a few percent at most. Per-bucket series quantiles, over a
// few hundred values, are checked in rank instead (seriesQuantilePath).
// Every other number must match to 1e-9.
const quantileTolerance = 0.08

// quantilePath names the JSON fields derived from t-digest quantiles.
var quantilePath = regexp.MustCompile(`(?i)latency|p50|p90|p95|p99|quantile`)

// seriesQuantilePath names report.json's per-bucket latency quantiles. A
// bucket holds a few hundred values, whose tail order statistics lie far
// apart in value, so these are checked in rank against the exact latencies
// of the bucket (checkSeriesQuantiles) instead of by quantileTolerance.
var seriesQuantilePath = regexp.MustCompile(`^\.input\.series\[\d+\]\.p(50|99)_ms$`)

// volatilePath names fields that legitimately differ between two runs of a
// command (the time it ran, how long it took, the database it read).
// Ages ("seconds ago") count from the moment each command ran.
// In flows check, the pipeline block describes each deployment's own topic,
// consumer group and sink timing; the items judged must still agree.
// A partition's max_event is volatile too: with two sinks in one group a
// caught-up partition's newest progress row may come from the sink that
// never read it (pipeline/sink/progress.go writes caught-up rows for every
// partition the group has committed), and max_event is then absent; the watermark of a
// caught-up partition is its check time, so verdicts do not depend on it.
var volatilePath = regexp.MustCompile(`(?i)generated|elapsed|took|duration_ms|database|\.now$|checked_at|computed_at|query_ms|seconds_ago$|stuck_for_seconds$|` +
	`^\.since$|^\.until$|^\.pipeline\.(consumer_group|lag_seconds|last_progress|message|progress_age_seconds|watermark)$|` +
	`^\.pipeline\.partitions\[\d+\]\.(topic|updated|max_event)$`)

// TestClusterSameAnswers feeds one recorded game day (the report
// fixture scaled to a few hundred thousand events: two cohorts with
// different error rates and latencies, untagged and synthetic traffic,
// publish items of which every tenth is stuck, and every 20th event
// duplicated) through Kafka and `ingest sink` into the single-node stack
// (one sink) and into the cluster (three brokers, two sinks in one group,
// Distributed tables over 2 shards x 2 replicas). analyze compare, flows
// check and report.json must give the same answers.
func TestClusterSameAnswers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 18*time.Minute)
	defer cancel()
	fx := fixture.DefaultOptions()
	fx.ExperimentID = "gameday-exp"
	fx.PerMinute = 5000
	gen := fixture.Generate(fx)
	t.Logf("fixture: %d events, %d distinct, %d stuck items", len(gen.Events), gen.Distinct, len(gen.Stuck))
	require.Greater(t, len(gen.Events), 200_000)

	single := chtest.Open(t)
	sTopic := kafkatest.Topic(t, 6)
	sEnv := []string{store.EnvDatabase + "=" + single.DB, "STEADYSTATE_KAFKA_BROKERS=" + strings.Join(kafkatest.Brokers(), ",")}
	cl := clustertest.OpenDB(t)
	cTopic := clustertest.Topic(t, 6)
	cEnv := cl.Env()

	require.NoError(t, publish(ctx, kafkatest.Brokers(), sTopic, gen.Events))
	require.NoError(t, publish(ctx, clustertest.Brokers, cTopic, gen.Events))
	sGroup, cGroup := "same-single", "same-cluster"
	sSink := startSink(t, sEnv, sTopic, sGroup)
	cSinks := []*proc{startSink(t, cEnv, cTopic, cGroup), startSink(t, cEnv, cTopic, cGroup)}

	const distinct = "SELECT uniqExact(event_id) FROM {DB}.events"
	want := uint64(gen.Distinct)
	assert.Equal(t, want, waitScalar(ctx, t, single, distinct, want, 10*time.Minute), "single node stored every event")
	assert.Equal(t, want, waitScalar(ctx, t, cl.Client, distinct, want, 10*time.Minute), "cluster stored every event")

	// Both sinks took part, and the sharding key kept every event's
	// duplicates on one shard: the shards' distinct ids add up to the total.
	for _, s := range cSinks {
		assert.Contains(t, s.Logs(), "sink running")
	}
	var perShard uint64
	for _, n := range []int{0, 2} {
		perShard += shardScalar(ctx, t, n, cl.Cfg.Database, "SELECT uniqExact(event_id) FROM {DB}.events_local")
	}
	assert.Equal(t, want, perShard, "no event id on two shards")
	for _, n := range []int{1, 3} { // the other replica of each shard has the same rows
		require.Eventually(t, func() bool {
			return shardScalar(ctx, t, n, cl.Cfg.Database, "SELECT count() FROM {DB}.events_local") ==
				shardScalar(ctx, t, n-1, cl.Cfg.Database, "SELECT count() FROM {DB}.events_local")
		}, 2*time.Minute, time.Second, "replica %d caught up", n)
	}

	logDisk(ctx, t, single, "single node", uint64(len(gen.Events)))
	for n := range clustertest.CHAddrs {
		cfg := store.NewDefaultConfig()
		cfg.Addr, cfg.Database = clustertest.CHAddrs[n], cl.Cfg.Database
		c, err := store.Open(ctx, cfg)
		require.NoError(t, err)
		logDisk(ctx, t, c, fmt.Sprintf("cluster server %d (shard %d replica %d)", n, n/2+1, n%2+1), uint64(len(gen.Events)))
		_ = c.Close()
	}

	for _, c := range []*store.Client{single, cl.Client} {
		insertRun(ctx, t, c, fx.ExperimentID, fx.Start, fx.Start.Add(fx.Run))
	}
	defs := filepath.Join(clustertest.RepoRoot(), "cmd", "analyze", "testdata", "gameday")
	since := fmt.Sprintf("%dh", int(time.Since(fx.Start.Add(-fx.Before)).Hours())+2)
	type outputs struct{ compare, flows, report string }
	run := func(env []string, group string) outputs {
		var o outputs
		var code int
		var stderr string
		o.compare, stderr, code = runCLI(t, env, "analyze", "--experiments", defs, "compare", fx.ExperimentID, "--output", "json")
		require.Zero(t, code, stderr)
		o.flows, stderr, code = runCLI(t, env, "analyze", "--experiments", defs, "flows", "check", "--output", "json", "--consumer-group", group, "--since", since)
		require.Contains(t, []int{0, 3}, code, stderr)
		dir := t.TempDir()
		_, stderr, code = runCLI(t, env, "analyze", "--experiments", defs, "report", fx.ExperimentID, "--out", dir)
		require.Zero(t, code, stderr)
		b, err := os.ReadFile(filepath.Join(dir, "report.json"))
		require.NoError(t, err)
		o.report = string(b)
		return o
	}
	s := run(sEnv, sGroup)
	c := run(cEnv, cGroup)
	checkSeriesQuantiles(ctx, t, "single node", single, s.report, gen, fx.ExperimentID)
	checkSeriesQuantiles(ctx, t, "cluster", cl.Client, c.report, gen, fx.ExperimentID)
	for _, x := range []struct{ name, a, b string }{{"compare", s.compare, c.compare}, {"flows check", s.flows, c.flows}, {"report.json", s.report, c.report}} {
		var a, b any
		require.NoError(t, json.Unmarshal([]byte(x.a), &a), x.a)
		require.NoError(t, json.Unmarshal([]byte(x.b), &b), x.b)
		exact, approx := diffJSON("", a, b)
		assert.Empty(t, exact, "%s: single node and cluster differ", x.name)
		for i, d := range approx {
			if i < 3 {
				t.Logf("%s: within the t-digest tolerance, e.g. %s", x.name, d)
			}
		}
		t.Logf("%s: %d bytes of JSON agree (%d t-digest numbers within %.0f%%)", x.name, len(x.a), len(approx), quantileTolerance*100)
	}
	sSink.Stop(t, 60*time.Second)
	for _, s := range cSinks {
		s.Stop(t, 60*time.Second)
	}
	var rep struct {
		Input struct {
			Verdict string
			Flows   []struct{ Cohorts []struct{ Stuck int64 } }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(c.report), &rep))
	assert.Equal(t, "fail", rep.Input.Verdict)
	var stuck int64
	for _, f := range rep.Input.Flows {
		for _, co := range f.Cohorts {
			stuck += co.Stuck
		}
	}
	assert.Positive(t, stuck, "the cluster's report finds the stuck items")
}

// diffJSON lists the differences between two decoded JSON values: exact
// ones, and numbers under quantilePath within quantileTolerance.
func diffJSON(path string, a, b any) (exact, approx []string) {
	if volatilePath.MatchString(path) || seriesQuantilePath.MatchString(path) {
		return nil, nil
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %v vs %v", path, a, b)}, nil
		}
		keys := map[string]bool{}
		for k := range av {
			keys[k] = true
		}
		for k := range bv {
			keys[k] = true
		}
		var ks []string
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			e, ap := diffJSON(path+"."+k, av[k], bv[k])
			exact, approx = append(exact, e...), append(approx, ap...)
		}
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return []string{fmt.Sprintf("%s: %d vs %d elements", path, len(av), len(bv))}, nil
		}
		for i := range av {
			e, ap := diffJSON(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i])
			exact, approx = append(exact, e...), append(approx, ap...)
		}
	case float64:
		bv, ok := b.(float64)
		if !ok {
			return []string{fmt.Sprintf("%s: %v vs %v", path, a, b)}, nil
		}
		d := math.Abs(av - bv)
		scale := math.Max(1, math.Max(math.Abs(av), math.Abs(bv)))
		switch {
		case d <= 1e-9*scale:
		case quantilePath.MatchString(path) && d <= quantileTolerance*scale:
			approx = append(approx, fmt.Sprintf("%s: %v vs %v", path, av, bv))
		default:
			exact = append(exact, fmt.Sprintf("%s: %v vs %v", path, av, bv))
		}
	default:
		if fmt.Sprint(a) != fmt.Sprint(b) {
			exact = append(exact, fmt.Sprintf("%s: %v vs %v", path, a, b))
		}
	}
	return exact, approx
}

// checkSeriesQuantiles checks report.json's series against the fixture
// it was computed from: each point's distinct events exactly, its p50 and
// p99 in rank (quantileRankError within tdigestRankSlack) against the
// latencies that went into the bucket's digests. The digests hold every row
// inserted: the fixture's duplicates, and rows a sink inserted again after
// a rebalance took its partitions before it committed (the second cluster
// sink joins while the first consumes). cohort_tally counts those rows per
// bucket; each extra copy of a fixture row moves any rank by at most one,
// so the slack grows by the extra rows of the bucket, and a bucket with
// fewer rows than the fixture fails (a row lost). The series is filtered
// like the experiment's first SLI (gameday.yaml: checkout, GET /checkout,
// synthetic traffic left out); the cohort "none" is the untagged traffic.
func checkSeriesQuantiles(ctx context.Context, t *testing.T, side string, c *store.Client, report string, gen fixture.Result, exp string) {
	t.Helper()
	var rep struct {
		Input struct{ Series []findings.SeriesPoint }
	}
	require.NoError(t, json.Unmarshal([]byte(report), &rep), side)
	series := rep.Input.Series
	require.NotEmpty(t, series, "%s: report.json has a series", side)
	step := int64(math.MaxInt64)
	for i := 1; i < len(series); i++ {
		if d := series[i].Time.Unix() - series[i-1].Time.Unix(); d > 0 {
			step = min(step, d)
		}
	}
	require.Less(t, step, int64(math.MaxInt64), "%s: series step", side)
	type key struct {
		t      int64
		cohort string
	}
	latencies := map[key][]float64{}
	ids := map[key]map[string]bool{}
	for _, e := range gen.Events {
		if e.Synthetic || e.Service != "checkout" || e.Name != "GET /checkout" || (e.ExperimentID != exp && e.ExperimentID != "") {
			continue
		}
		sec := e.TimeNs / 1e9
		k := key{sec - sec%step, e.Cohort.String()}
		latencies[k] = append(latencies[k], float64(e.DurationNs)/1e6)
		if ids[k] == nil {
			ids[k] = map[string]bool{}
		}
		ids[k][e.ID] = true
	}
	rows := map[key]int64{}
	q, err := c.Conn.Query(ctx, fmt.Sprintf(`SELECT toInt64(toUInt32(bucket)), toString(cohort), toInt64(sum(rows)) FROM %s.cohort_tally
		WHERE experiment_id IN ('', '%s') AND synthetic = 0 AND service = 'checkout' AND name = 'GET /checkout'
		GROUP BY bucket, cohort`, c.DB, exp))
	require.NoError(t, err, side)
	for q.Next() {
		var b, n int64
		var cohort string
		require.NoError(t, q.Scan(&b, &cohort, &n), side)
		rows[key{b - b%step, cohort}] += n
	}
	require.NoError(t, q.Err(), side)
	q.Close()

	require.Len(t, series, len(latencies), "%s: one point per bucket and cohort of the fixture", side)
	var worst float64
	var worstAt string
	var extra int64
	for _, pt := range series {
		k := key{pt.Time.Unix(), pt.Cohort}
		xs := latencies[k]
		require.NotEmpty(t, xs, "%s: point %s %s is not in the fixture", side, pt.Time, pt.Cohort)
		assert.Equal(t, int64(len(ids[k])), pt.Events, "%s: distinct events at %s %s", side, pt.Time, pt.Cohort)
		again := rows[k] - int64(len(xs))
		if !assert.GreaterOrEqual(t, again, int64(0), "%s: %d rows in the digests at %s %s, the fixture has %d", side, rows[k], pt.Time, pt.Cohort, len(xs)) {
			continue
		}
		extra += again
		sort.Float64s(xs)
		for _, q := range []struct {
			p, v float64
		}{{0.5, pt.P50ms}, {0.99, pt.P99ms}} {
			r, slack := quantileRankError(xs, q.p, q.v), tdigestRankSlack(int(rows[k]), q.p)+float64(again)
			assert.LessOrEqual(t, r, slack, "%s: p%.0f at %s %s is %v ms, %.1f ranks from the exact quantile of %d values (allowed %.1f with %d rows inserted again)",
				side, q.p*100, pt.Time, pt.Cohort, q.v, r, len(xs), slack, again)
			if r/slack > worst {
				worst, worstAt = r/slack, fmt.Sprintf("p%.0f at %s %s: %.1f of %.1f ranks", q.p*100, pt.Time.Format(time.TimeOnly), pt.Cohort, r, slack)
			}
		}
	}
	t.Logf("%s: %d series points, p50 and p99 within the t-digest rank error of the exact values (worst %.0f %% of the slack: %s); %d rows inserted again",
		side, len(series), worst*100, worstAt, extra)
}

// shardScalar runs a count on one server of the cluster (its local tables).
func shardScalar(ctx context.Context, t *testing.T, n int, db, sql string) uint64 {
	t.Helper()
	c := serverClient(ctx, t, n, db)
	defer c.Close()
	return scalar(ctx, t, c, sql)
}

// serverClient connects to ClickHouse server n of the cluster alone.
func serverClient(ctx context.Context, t *testing.T, n int, db string) *store.Client {
	t.Helper()
	cfg := store.NewDefaultConfig()
	cfg.Addr, cfg.Database = clustertest.CHAddrs[n], db
	c, err := store.Open(ctx, cfg)
	require.NoError(t, err)
	return c
}

func insertRun(ctx context.Context, t *testing.T, c *store.Client, exp string, start, end time.Time) {
	t.Helper()
	batch, err := c.Conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.runs (run_id, experiment_id, started_ns, ended_ns, operator, note, updated_ns)", c.DB))
	require.NoError(t, err)
	require.NoError(t, batch.Append("r1", exp, uint64(start.UnixNano()), uint64(end.UnixNano()), "alice", "game day", uint64(1)))
	require.NoError(t, batch.Send())
}

// logDisk logs the bytes on disk of a database's tables on one server, per
// million events received (for disk sizing; parts not yet merged included).
func logDisk(ctx context.Context, t *testing.T, c *store.Client, where string, events uint64) {
	t.Helper()
	rows, err := c.Conn.Query(ctx, fmt.Sprintf("SELECT table, sum(bytes_on_disk), sum(rows) FROM system.parts WHERE database = '%s' AND active GROUP BY table ORDER BY table", c.DB))
	require.NoError(t, err)
	defer rows.Close()
	var total uint64
	var parts []string
	for rows.Next() {
		var table string
		var bytes, n uint64
		require.NoError(t, rows.Scan(&table, &bytes, &n))
		total += bytes
		parts = append(parts, fmt.Sprintf("%s %.1f MB", table, float64(bytes)*1e6/float64(events)/1e6))
	}
	require.NoError(t, rows.Err())
	t.Logf("disk on %s: %.1f MB per million events received (%s)", where, float64(total)*1e6/float64(events)/1e6, strings.Join(parts, ", "))
}
