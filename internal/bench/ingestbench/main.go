// Command ingestbench measures the ingest path end to end on this machine
// (`make bench-ingest`): generator -> ingest serve -> Kafka -> ingest sink ->
// ClickHouse, counted in ClickHouse, and compares it in the same run, on the
// same topic and table shape, with ClickHouse's own Kafka table engine and
// with clickhouse-client inserting the same events from a file.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steadystate/steadystate/pipeline/produce"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

func main() {
	n := flag.Int("events", 1_000_000, "events for the throughput runs")
	rate := flag.Int("rate", 10_000, "events per second for the latency run")
	latFor := flag.Duration("latency-for", 20*time.Second, "length of the latency run")
	workers := flag.Int("workers", 8, "concurrent HTTP senders")
	batch := flag.Int("batch", 1000, "events per request")
	flag.Parse()
	if err := run(*n, *rate, *latFor, *workers, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

type proc struct {
	name string
	cmd  *exec.Cmd
}

func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func clickhousePid() int {
	state := os.Getenv("STEADYSTATE_STATE_DIR")
	if state == "" {
		state = ".state"
	}
	b, err := os.ReadFile(filepath.Join(state, "clickhouse", "clickhouse.pid")) //nolint:gosec // G703: dev benchmark reads the pid file of its own local state dir
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func ndjson(exp string, from, to int, now time.Time) []byte {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		cohort := "control"
		if i%20 == 0 {
			cohort = "experiment"
		}
		fmt.Fprintf(&b, `{"event_id":"%s-%09d","time":%d,"service":"checkout","name":"GET /checkout","experiment_id":"%s","cohort":"%s","http_status":200,"duration_ms":%d.5,"trace_id":"%032x","attributes":{"region":"eu","tenant":"t%d"}}`+"\n",
			exp, i, now.UnixNano()+int64(i), exp, cohort, i%700, i, i%50)
	}
	return b.Bytes()
}

func count(ctx context.Context, c *store.Client, db, exp string) uint64 {
	var n uint64
	_ = c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.events WHERE experiment_id = '%s'", db, exp)).Scan(&n)
	return n
}

func run(n, rate int, latFor time.Duration, workers, batchSize int) error {
	ctx := context.Background()
	stamp := strconv.FormatInt(time.Now().Unix(), 36)
	db, topic := "bench_"+stamp, "bench.events."+stamp
	bin, err := os.MkdirTemp("", "ingestbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/ingest").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %w\n%s", err, out)
	}
	cfg := store.NewDefaultConfig()
	cfg.Database = db
	c, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Migrate(ctx, store.MigrateOptions{}); err != nil {
		return err
	}
	defer func() { _ = c.Conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db) }()
	brokers := produce.DefaultBrokers()
	if err := produce.EnsureTopic(ctx, brokers, topic, 6); err != nil {
		return err
	}
	defer func() { _ = produce.DeleteTopic(context.Background(), brokers, topic) }()

	httpAddr := freeAddr()
	env := append(os.Environ(), store.EnvDatabase+"="+db)
	start := func(name string, args ...string) *proc {
		cmd := exec.Command(filepath.Join(bin, "ingest"), args...)
		cmd.Env = env
		logf, err := os.Create(filepath.Join(bin, strings.ReplaceAll(name, " ", "-")+".log"))
		if err != nil {
			panic(err)
		}
		cmd.Stderr = logf
		if err := cmd.Start(); err != nil {
			panic(err)
		}
		return &proc{name: name, cmd: cmd}
	}
	serve := start("ingest serve", "serve", "--http", httpAddr, "--grpc", freeAddr(), "--admin", freeAddr(), "--topic", topic, "--log-level", "warn")
	sink := start("ingest sink", "sink", "--topic", topic, "--group", "bench-sink", "--admin", freeAddr(), "--log-level", "warn")
	defer func() {
		for _, p := range []*proc{serve, sink} {
			_ = p.cmd.Process.Signal(os.Interrupt)
			_ = p.cmd.Wait()
		}
	}()
	for i := 0; ; i++ {
		if conn, err := net.Dial("tcp", httpAddr); err == nil {
			_ = conn.Close()
			break
		}
		if i > 300 {
			out, _ := os.ReadFile(filepath.Join(bin, "ingest-serve.log"))
			return fmt.Errorf("ingest serve did not start:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	url := "http://" + httpAddr + "/v1/events"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: time.Minute}
	send := func(body []byte) error {
		resp, err := client.Post(url, "application/x-ndjson", bytes.NewReader(body))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}

	// 1. Throughput end to end.
	fmt.Fprintf(os.Stderr, "preparing %d events...\n", n)
	now := time.Now()
	var bodies [][]byte
	for lo := 0; lo < n; lo += batchSize {
		bodies = append(bodies, ndjson("tput", lo, min(lo+batchSize, n), now))
	}
	chPid := clickhousePid()
	cpu0 := map[string]float64{"ingest serve": cpuSeconds(serve.cmd.Process.Pid), "ingest sink": cpuSeconds(sink.cmd.Process.Pid), "clickhouse-server": cpuSeconds(chPid)}
	t0 := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var sendErr atomic.Value
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				for tries := 0; ; tries++ {
					if err := send(bodies[i]); err == nil {
						break
					} else if tries > 20 {
						sendErr.Store(err)
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := sendErr.Load().(error); ok {
		return fmt.Errorf("send: %w", err)
	}
	acked := time.Since(t0)
	for count(ctx, c, db, "tput") < uint64(n) {
		if time.Since(t0) > 10*time.Minute {
			return fmt.Errorf("only %d of %d events arrived", count(ctx, c, db, "tput"), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e2e := time.Since(t0)
	cpu := map[string]float64{
		"ingest serve":      cpuSeconds(serve.cmd.Process.Pid) - cpu0["ingest serve"],
		"ingest sink":       cpuSeconds(sink.cmd.Process.Pid) - cpu0["ingest sink"],
		"clickhouse-server": cpuSeconds(chPid) - cpu0["clickhouse-server"],
	}

	fmt.Fprintf(os.Stderr, "steadystate end to end: %d events in %s (%.0f events/s)\n", n, e2e.Round(time.Millisecond), float64(n)/e2e.Seconds())

	// 2. Latency at a fixed rate: batches of rate/100 every 10 ms.
	fmt.Fprintf(os.Stderr, "latency run at %d events/s for %s...\n", rate, latFor)
	per := max(rate/100, 1)
	var mu sync.Mutex
	sentAt := map[string]time.Time{}
	// The poller runs during the run: a batch's latency is from the start of
	// its request to the first poll that sees it in ClickHouse.
	visible := map[string]time.Duration{}
	pollDone := make(chan struct{})
	var sendingDone atomic.Bool
	go func() {
		defer close(pollDone)
		deadline := time.Now().Add(latFor + time.Minute)
		for time.Now().Before(deadline) {
			rows, err := c.Conn.Query(ctx, fmt.Sprintf("SELECT DISTINCT name FROM %s.events WHERE experiment_id = 'lat' AND event_time >= now() - 600", db))
			if err != nil {
				continue
			}
			seen := time.Now()
			mu.Lock()
			for rows.Next() {
				var name string
				_ = rows.Scan(&name)
				if _, ok := visible[name]; !ok {
					if at, ok := sentAt[name]; ok {
						visible[name] = seen.Sub(at)
					}
				}
			}
			all := sendingDone.Load() && len(visible) == len(sentAt)
			mu.Unlock()
			_ = rows.Close()
			if all {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	stop := time.After(latFor)
	seq := 0
	var lwg sync.WaitGroup
loop:
	for {
		select {
		case <-stop:
			break loop
		case <-tick.C:
			name := fmt.Sprintf("lat-%06d", seq)
			body := bytes.ReplaceAll(ndjson("lat"+strconv.Itoa(seq), 0, per, time.Now()), []byte(`"GET /checkout"`), []byte(`"`+name+`"`))
			body = bytes.ReplaceAll(body, []byte(`"experiment_id":"lat`+strconv.Itoa(seq)+`"`), []byte(`"experiment_id":"lat"`))
			seq++
			mu.Lock()
			sentAt[name] = time.Now()
			mu.Unlock()
			lwg.Add(1)
			go func() { defer lwg.Done(); _ = send(body) }()
		}
	}
	tick.Stop()
	lwg.Wait()
	sendingDone.Store(true)
	<-pollDone
	var lats []time.Duration
	for _, d := range visible {
		lats = append(lats, d)
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	pct := func(q float64) time.Duration {
		if len(lats) == 0 {
			return 0
		}
		return lats[min(int(q*float64(len(lats))), len(lats)-1)]
	}

	// 3. ClickHouse's Kafka engine on the same topic (the wire form is
	// JSONEachRow of the events columns) into the same table shape.
	fmt.Fprintf(os.Stderr, "kafka engine run...\n")
	kdb := db + "_kafka"
	kc := *c
	kc.DB = kdb
	if _, err := kc.Migrate(ctx, store.MigrateOptions{}); err != nil {
		return err
	}
	defer func() { _ = c.Conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+kdb) }()
	var colDefs []string
	for _, col := range telemetry.Columns[:len(telemetry.Columns)-2] {
		colDefs = append(colDefs, col+" "+columnType(col))
	}
	ddl := []string{
		fmt.Sprintf("CREATE TABLE %s.kafka_events (%s) ENGINE = Kafka SETTINGS kafka_broker_list = %s, kafka_topic_list = %s, "+
			"kafka_group_name = 'bench-ch-engine', kafka_format = 'JSONEachRow', kafka_num_consumers = 2",
			kdb, strings.Join(colDefs, ", "), queries.QuoteString(strings.Join(brokers, ",")), queries.QuoteString(topic)),
	}
	kcpu0 := cpuSeconds(chPid)
	kt0 := time.Now()
	// 18.16 wants every column of the target table from the view.
	ddl = append(ddl, fmt.Sprintf("CREATE MATERIALIZED VIEW %s.kafka_mv TO %s.events (%s, kafka_partition Int32, kafka_offset Int64) AS SELECT %s, toInt32(0) AS kafka_partition, toInt64(0) AS kafka_offset FROM %s.kafka_events",
		kdb, kdb, strings.Join(colDefs, ", "), strings.Join(telemetry.Columns[:len(telemetry.Columns)-2], ", "), kdb))
	for _, s := range ddl {
		if err := c.Conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("kafka engine ddl: %w", err)
		}
	}
	total := uint64(n + seq*per)
	var kdone time.Duration
	for {
		got := count(ctx, c, kdb, "tput") + count(ctx, c, kdb, "lat")
		if got >= total {
			kdone = time.Since(kt0)
			break
		}
		if time.Since(kt0) > 4*time.Minute {
			return fmt.Errorf("kafka engine stored only %d of %d in 4 minutes (see the clickhouse-server error log)", got, total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	kcpu := cpuSeconds(chPid) - kcpu0
	_ = c.Conn.Exec(ctx, fmt.Sprintf("DROP TABLE %s.kafka_mv", kdb))
	_ = c.Conn.Exec(ctx, fmt.Sprintf("DROP TABLE %s.kafka_events", kdb))

	// 4. clickhouse-client inserting the same events from a file.
	fmt.Fprintf(os.Stderr, "clickhouse-client JSONEachRow run...\n")
	file := filepath.Join(bin, "events.ndjson")
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	var buf []byte
	for i := 0; i < n; i++ {
		e := telemetry.Event{ID: fmt.Sprintf("tput-%09d", i), TimeNs: now.UnixNano() + int64(i), IngestNs: now.UnixNano(), Kind: telemetry.KindEvent,
			Service: "checkout", Name: "GET /checkout", ExperimentID: "direct", Cohort: telemetry.CohortControl, HTTPStatus: 200,
			DurationNs: uint64(i%700) * 1e6, TraceID: fmt.Sprintf("%032x", i), AttrKeys: []string{"region", "tenant"}, AttrValues: []string{"eu", "t" + strconv.Itoa(i%50)}}
		buf = append(e.AppendJSON(buf[:0]), '\n')
		if _, err := f.Write(buf); err != nil {
			return err
		}
	}
	_ = f.Close()
	host, port, _ := net.SplitHostPort(cfg.Addr)
	dcpu0 := cpuSeconds(chPid)
	dt0 := time.Now()
	cmd := exec.Command("clickhouse-client", "--host", host, "--port", port, "--query",
		fmt.Sprintf("INSERT INTO %s.events (%s) FORMAT JSONEachRow", kdb, strings.Join(telemetry.Columns[:len(telemetry.Columns)-2], ", ")))
	in, _ := os.Open(file)
	cmd.Stdin = in
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("clickhouse-client insert: %w\n%s", err, out)
	}
	_ = in.Close()
	ddone := time.Since(dt0)
	dcpu := cpuSeconds(chPid) - dcpu0

	perM := func(sec float64, events int) float64 { return sec / float64(events) * 1e6 }
	fmt.Printf("ingestbench: %d events (%d per request, %d senders), Kafka %s, ClickHouse %s, 2 cores, all co-located\n\n",
		n, batchSize, workers, strings.Join(brokers, ","), cfg.Addr)
	fmt.Printf("%-44s %12s %14s %s\n", "path", "events/s", "wall", "CPU s per 1M events")
	fmt.Printf("%-44s %12.0f %14s serve %.1f, sink %.1f, clickhouse %.1f\n", "steadystate (HTTP->serve->Kafka->sink->CH)",
		float64(n)/e2e.Seconds(), e2e.Round(time.Millisecond), perM(cpu["ingest serve"], n), perM(cpu["ingest sink"], n), perM(cpu["clickhouse-server"], n))
	fmt.Printf("%-44s %12.0f %14s (acknowledged by Kafka: %.0f events/s)\n", "  of which generator->serve->Kafka acked", float64(n)/acked.Seconds(), acked.Round(time.Millisecond), float64(n)/acked.Seconds())
	fmt.Printf("%-44s %12.0f %14s clickhouse %.1f\n", "ClickHouse Kafka engine (same topic)", float64(total)/kdone.Seconds(), kdone.Round(time.Millisecond), perM(kcpu, int(total)))
	fmt.Printf("%-44s %12.0f %14s clickhouse %.1f\n", "clickhouse-client FORMAT JSONEachRow (file)", float64(n)/ddone.Seconds(), ddone.Round(time.Millisecond), perM(dcpu, n))
	fmt.Printf("\nratios: vs Kafka engine %.2fx (target >= 1.0), vs direct insert %.2fx (target >= 0.5)\n",
		(float64(n)/e2e.Seconds())/(float64(total)/kdone.Seconds()), (float64(n)/e2e.Seconds())/(float64(n)/ddone.Seconds()))
	fmt.Printf("ingest-to-queryable at %d events/s for %s: p50 %s, p99 %s, max %s over %d batches (target p99 <= 1s)\n",
		rate, latFor, pct(0.5).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), pct(1).Round(time.Millisecond), len(lats))
	return nil
}

func columnType(col string) string {
	switch col {
	case "event_time", "ingest_time":
		return "DateTime"
	case "event_time_ns", "ingest_time_ns", "duration_ns":
		return "UInt64"
	case "kind":
		return "Enum8('span' = 1, 'log' = 2, 'event' = 3, 'alert' = 4)"
	case "cohort":
		return "Enum8('none' = 0, 'control' = 1, 'experiment' = 2)"
	case "status":
		return "Enum8('unset' = 0, 'ok' = 1, 'error' = 2)"
	case "synthetic", "is_error":
		return "UInt8"
	case "http_status":
		return "UInt16"
	case "attr_keys", "attr_values", "res_keys", "res_values":
		return "Array(String)"
	default:
		return "String"
	}
}
