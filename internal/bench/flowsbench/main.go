// Command flowsbench measures the flow check on this machine
// (`make bench-flows`) and prints:
//
//   - sweep: the evaluation of 100k in-flight items (flows.Evaluate over the
//     rows the sweep query returns), target <= 200 ms; and, for context, the
//     whole check of those items in ClickHouse (sweep query + evaluation);
//   - detection delay: from a stuck item's deadline to its alert being
//     listed by a real Alertmanager (GET /api/v2/alerts), through the real
//     binaries: ingest serve -> Kafka -> ingest sink -> ClickHouse ->
//     analyze watch -> Alertmanager; p50 and p99, target p99 <= window + 5 s.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/steadystate/steadystate/internal/testkit/freeport"

	"github.com/steadystate/steadystate/internal/testkit/amtest"
	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

func main() {
	items := flag.Int("items", 100_000, "in-flight items for the sweep")
	rounds := flag.Int("rounds", 20, "sweep repetitions")
	stuck := flag.Int("stuck", 40, "stuck items for the detection-delay run")
	window := flag.Duration("window", 5*time.Second, "the flow's window (within) in the detection-delay run")
	interval := flag.Duration("interval", time.Second, "analyze watch --interval in the detection-delay run")
	skipDelay := flag.Bool("sweep-only", false, "skip the detection-delay run")
	flag.Parse()
	if err := run(*items, *rounds, *stuck, *window, *interval, *skipDelay); err != nil {
		fmt.Fprintln(os.Stderr, "flowsbench:", err)
		os.Exit(1)
	}
}

func run(items, rounds, stuck int, window, interval time.Duration, skipDelay bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := sweep(ctx, items, rounds); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	if skipDelay {
		return nil
	}
	if err := detection(ctx, stuck, window, interval); err != nil {
		return fmt.Errorf("detection delay: %w", err)
	}
	return nil
}

var stages = []string{"publish.received", "content.transformed", "content.stored", "cache.purged"}

func publishFlow(within time.Duration) experiment.Flow {
	f := experiment.Flow{Name: "publish", Key: "publish_id", Within: within, Severity: experiment.SeverityPage}
	for _, s := range stages {
		f.Stages = append(f.Stages, experiment.Stage{Name: s})
	}
	return f
}

func pct(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p*float64(len(s)-1) + 0.5)
	return s[i]
}

func tempDB(ctx context.Context) (*store.Client, func(), error) {
	cfg := store.NewDefaultConfig()
	var b [4]byte
	_, _ = rand.Read(b[:])
	cfg.Database = "bench_flows_" + hex.EncodeToString(b[:])
	c, err := store.Open(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (start ClickHouse with `make up`)", err)
	}
	if _, err := c.Migrate(ctx, store.MigrateOptions{}); err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	return c, func() {
		if sql, err := c.SQL("bench/bench_drop_database.sql", nil); err == nil {
			_ = c.Conn.Exec(context.Background(), sql)
		}
		_ = c.Close()
	}, nil
}

func sweep(ctx context.Context, n, rounds int) error {
	fl := publishFlow(2 * time.Minute)
	now := time.Now()
	wm := now.Add(-2 * time.Second)
	// In memory: n in-flight items (1 to 3 stages seen, started within the
	// window), and a few complete-item groups, as the sweep query returns them.
	rows := make([]flows.ItemRow, 0, n+4)
	for i := range n {
		first := now.Add(-time.Duration(i%110_000) * time.Millisecond)
		rows = append(rows, flows.ItemRow{
			Key: fmt.Sprintf("pub-%07d", i), Items: 1, InReport: true, Cohort: telemetry.Cohort(1 + i%2),
			ExperimentID: "exp", MinFirstNs: first.UnixNano(), MaxFirstNs: first.UnixNano(), MaxLastNs: first.Add(time.Second).UnixNano(),
			Mask: uint64(1)<<(1+i%3) - 1,
		})
	}
	rows = append(rows, flows.ItemRow{Items: 500_000, InReport: true, Cohort: telemetry.CohortControl, Mask: 0b1111, MinFirstNs: now.Add(-time.Hour).UnixNano(), MaxFirstNs: now.UnixNano(), MaxLastNs: now.UnixNano()})
	var took []time.Duration
	var rep flows.FlowReport
	for range rounds {
		start := time.Now()
		rep = flows.Evaluate(&fl, rows, flows.EvalSettings{Now: now, Watermark: &wm})
		took = append(took, time.Since(start))
	}
	if rep.Counts.InFlight != uint64(n) {
		return fmt.Errorf("sweep judged %d in flight, want %d", rep.Counts.InFlight, n)
	}
	fmt.Printf("sweep      %d in-flight items (+500k complete, counted): p50 %s  max %s  (target <= 200ms)\n",
		n, pct(took, 0.5).Round(time.Microsecond), pct(took, 1).Round(time.Microsecond))

	// The same shape in ClickHouse: the whole check, query included.
	c, drop, err := tempDB(ctx)
	if err != nil {
		return err
	}
	defer drop()
	insertSQL, err := c.InsertSQL("write/events_insert.sql")
	if err != nil {
		return err
	}
	batch, err := c.Conn.PrepareBatch(ctx, insertSQL)
	if err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	var row []any
	ev := 0
	for i := range n {
		first := now.Add(-time.Duration(i%110_000) * time.Millisecond)
		for s := 0; s <= i%3; s++ {
			ev++
			e := telemetry.Event{
				ID: fmt.Sprintf("b-%d-%d", i, s), TimeNs: first.Add(time.Duration(s) * time.Millisecond).UnixNano(), IngestNs: now.UnixNano(),
				Kind: telemetry.KindEvent, Service: "publisher", Name: stages[s], Flow: "publish", FlowKey: fmt.Sprintf("pub-%07d", i),
				Stage: stages[s], ExperimentID: "exp", Cohort: telemetry.Cohort(1 + i%2),
			}
			row = e.Values(row, 0, int64(ev))
			if err := batch.Append(row...); err != nil {
				return fmt.Errorf("append: %w", err)
			}
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	// Native-protocol inserts go through a batch (18.16 waits for a data
	// block after INSERT ... VALUES sent with Exec).
	progressSQL, err := c.InsertSQL("write/sink_progress_insert.sql")
	if err != nil {
		return err
	}
	pb, err := c.Conn.PrepareBatch(ctx, progressSQL)
	if err != nil {
		return fmt.Errorf("prepare progress: %w", err)
	}
	if err := pb.Append("bench", "t", int32(0), int64(1), uint64(now.UnixNano()), uint8(1), uint64(now.UnixNano())); err != nil {
		return fmt.Errorf("append progress: %w", err)
	}
	if err := pb.Send(); err != nil {
		return fmt.Errorf("insert progress: %w", err)
	}
	cfg := flows.NewDefaultConfig()
	cfg.ConsumerGroup = "bench"
	ch, err := flows.NewChecker(cfg, c, []experiment.Flow{fl})
	if err != nil {
		return err
	}
	var full, query []time.Duration
	for range max(rounds/4, 3) {
		start := time.Now()
		rows, err := ch.Items(ctx, &fl, now.Add(-time.Hour), now.Add(-time.Hour), now.Add(time.Second))
		if err != nil {
			return err
		}
		query = append(query, time.Since(start))
		r := flows.Evaluate(&fl, rows, flows.EvalSettings{Now: now, Watermark: &wm})
		full = append(full, time.Since(start))
		if r.Counts.InFlight != uint64(n) {
			return fmt.Errorf("check judged %d in flight, want %d", r.Counts.InFlight, n)
		}
	}
	fmt.Printf("check      %d in-flight items in ClickHouse (%d events): query p50 %s, query + sweep p50 %s  max %s\n",
		n, ev, pct(query, 0.5).Round(time.Millisecond), pct(full, 0.5).Round(time.Millisecond), pct(full, 1).Round(time.Millisecond))
	return nil
}

type child struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
}

func start(dir, name string, env []string, args ...string) (*child, error) {
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(dir, args[0]), args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return &child{name: name, cmd: cmd, log: f}, nil
}

func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
	_ = c.log.Close()
}

func waitFor(what string, within time.Duration, ok func() bool) error {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return nil
		}
	}
	return fmt.Errorf("%s: not within %s", what, within)
}

func freeAddr() string {
	addr, err := freeport.PickAddr()
	if err != nil {
		panic(err)
	}
	return addr
}

func detection(ctx context.Context, n int, window, interval time.Duration) error {
	dir, err := os.MkdirTemp("", "flowsbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if out, err := exec.Command("go", "build", "-o", dir+"/", "./cmd/analyze", "./cmd/ingest").CombinedOutput(); err != nil {
		return fmt.Errorf("build (run from the repository root): %w\n%s", err, out)
	}
	am, err := amtest.StartDir(dir)
	if err != nil {
		return err
	}
	defer am.Stop()
	c, drop, err := tempDB(ctx)
	if err != nil {
		return err
	}
	defer drop()
	defs := filepath.Join(dir, "defs")
	if err := os.MkdirAll(defs, 0o750); err != nil {
		return err
	}
	spec := fmt.Sprintf("flows:\n  - name: publish\n    key: publish_id\n    stages: [%s]\n    within: %s\n    severity: page\n", strings.Join(stages, ", "), window)
	if err := os.WriteFile(filepath.Join(defs, "flows.yaml"), []byte(spec), 0o600); err != nil {
		return err
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	topic, group := "bench.flows."+hex.EncodeToString(b[:]), "bench-flows-"+hex.EncodeToString(b[:])
	defer func() { _ = bus.DeleteTopic(context.Background(), bus.DefaultBrokers(), topic) }()
	env := []string{store.EnvDatabase + "=" + c.DB}
	httpAddr := freeAddr()
	serve, err := start(dir, "serve", env, "ingest", "serve", "--http", httpAddr, "--grpc", freeAddr(), "--admin", freeAddr(), "--topic", topic, "--partitions", "3", "--experiments", defs)
	if err != nil {
		return err
	}
	defer serve.stop()
	sink, err := start(dir, "sink", env, "ingest", "sink", "--topic", topic, "--group", group, "--admin", freeAddr())
	if err != nil {
		return err
	}
	defer sink.stop()
	watch, err := start(dir, "watch", env, "analyze", "watch", "--experiments", defs, "--consumer-group", group, "--interval", interval.String(),
		"--alertmanager", am.URL, "--listen", freeAddr(), "--since", "10m")
	if err != nil {
		return err
	}
	defer watch.stop()
	if err := waitFor("ingest serve listening", 30*time.Second, func() bool {
		conn, err := net.Dial("tcp", httpAddr)
		if err == nil {
			_ = conn.Close()
		}
		return err == nil
	}); err != nil {
		return err
	}

	// One stuck item every 500ms, each in its own experiment so each raises
	// its own alert; plus complete items as background traffic.
	deadlines := map[string]time.Time{}
	seen := map[string]time.Time{}
	send := func(evs []map[string]any) error {
		var body bytes.Buffer
		enc := json.NewEncoder(&body)
		for _, e := range evs {
			_ = enc.Encode(e)
		}
		resp, err := http.Post("http://"+httpAddr+"/v1/events", "application/x-ndjson", &body)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ingest answered %d", resp.StatusCode)
		}
		return nil
	}
	ev := func(key, exp string, stage int, at time.Time) map[string]any {
		return map[string]any{"time": at.UTC().Format(time.RFC3339Nano), "service": "publisher", "name": stages[stage], "publish_id": key, "experiment_id": exp, "cohort": "experiment"}
	}
	poll := func() error {
		alerts, err := am.Alerts(ctx)
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if exp := a.Labels["experiment"]; a.Labels["alertname"] == flows.AlertItemsStuck {
				if _, ok := seen[exp]; !ok {
					seen[exp] = time.Now()
				}
			}
		}
		return nil
	}
	fmt.Printf("detection  %d stuck items, window %s, watch --interval %s, Alertmanager %s ...\n", n, window, interval, am.Version)
	next := time.Now()
	for i := 0; i < n || len(seen) < n; {
		if err := poll(); err != nil {
			return err
		}
		if i < n && !time.Now().Before(next) {
			exp := fmt.Sprintf("bench-%03d", i)
			key := fmt.Sprintf("stuck-%03d", i)
			t0 := time.Now()
			okKey := fmt.Sprintf("ok-%03d", i)
			if err := send([]map[string]any{
				ev(key, exp, 0, t0), ev(key, exp, 1, t0.Add(10*time.Millisecond)),
				ev(okKey, "", 0, t0), ev(okKey, "", 1, t0), ev(okKey, "", 2, t0), ev(okKey, "", 3, t0),
			}); err != nil {
				return err
			}
			deadlines[exp] = t0.Add(window)
			i++
			next = next.Add(500 * time.Millisecond)
		}
		if len(deadlines) == n && time.Since(deadlines[fmt.Sprintf("bench-%03d", n-1)]) > window+time.Minute {
			return fmt.Errorf("only %d of %d alerts arrived; see %s", len(seen), n, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var delays []time.Duration
	for exp, d := range deadlines {
		delays = append(delays, seen[exp].Sub(d))
	}
	p99 := pct(delays, 0.99)
	fmt.Printf("detection  deadline -> alert listed by Alertmanager: p50 %s  p99 %s  max %s  (target p99 <= window + 5s = %s)\n",
		pct(delays, 0.5).Round(10*time.Millisecond), p99.Round(10*time.Millisecond), pct(delays, 1).Round(10*time.Millisecond), window+5*time.Second)
	if p99 > window+5*time.Second {
		return errors.New("detection delay above target")
	}
	return nil
}
