// Command clusterbench measures ingest on the local scale-out cluster
// (`make bench-cluster`, after `make up CLUSTER=1`) next to the single-node
// stack, in one run: generator -> N x ingest serve -> Kafka -> M x ingest
// sink -> ClickHouse, counted in ClickHouse. For each layout it reports
// events/s and the CPU seconds per million events of every process class
// (serve, sink, Kafka brokers, ClickHouse servers), read from /proc, so the
// per-process costs can be scaled to other rates (README "Sizing").
//
// On a 2-core machine the cluster cannot be faster than one node: its 3
// brokers, 4 ClickHouse servers and ZooKeeper share the same cores. The
// CPU per million events is the figure that carries over.
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
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steadystate/steadystate/internal/testkit/freeport"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
	"github.com/steadystate/steadystate/internal/testkit/clustertest"
	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/queries"
)

func main() {
	n := flag.Int("events", 100_000, "events per layout and round")
	workers := flag.Int("workers", 4, "concurrent HTTP senders")
	batch := flag.Int("batch", 1000, "events per request")
	rounds := flag.Int("rounds", 3, "interleaved repeats of every layout (medians and spread are over these)")
	flag.Parse()
	if err := run(*n, *workers, *batch, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
}

// result is one layout's run: events/s and CPU seconds per 1M events by
// process class.
type result struct {
	rate float64
	cpu  map[string]float64
}

var classes = []string{"serve", "sink", "kafka", "clickhouse", "zookeeper"}

func (r result) total() float64 {
	t := 0.0
	for _, c := range classes {
		t += r.cpu[c]
	}
	return t
}

// stat is "median (min-max)" of xs.
func stat(xs []float64, format string) string {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return fmt.Sprintf(format+" ("+format+"-"+format+")", med, s[0], s[len(s)-1])
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

type layout struct {
	name          string
	cluster       bool
	serves, sinks int
}

func cpuSeconds(pid int) float64 { return stagecpu.PIDCPU(pid).Seconds() }

// enginePIDs lists the pids of a stack's engines by class.
func enginePIDs(cluster bool) map[string][]int {
	state := os.Getenv("STEADYSTATE_STATE_DIR")
	if state == "" {
		state = filepath.Join(clustertest.RepoRoot(), ".state")
	}
	read := stagecpu.PIDFile
	out := map[string][]int{}
	if !cluster {
		out["kafka"] = []int{read(filepath.Join(state, "kafka", "kafka.pid"))}
		out["clickhouse"] = []int{read(filepath.Join(state, "clickhouse", "clickhouse.pid"))}
		return out
	}
	for i := 1; i <= 3; i++ {
		out["kafka"] = append(out["kafka"], read(filepath.Join(clustertest.StateDir(), fmt.Sprintf("kafka%d", i), "kafka.pid")))
	}
	for i := 0; i < 4; i++ {
		out["clickhouse"] = append(out["clickhouse"], read(filepath.Join(clustertest.StateDir(), fmt.Sprintf("ch%d", i), "clickhouse.pid")))
	}
	out["zookeeper"] = []int{read(filepath.Join(clustertest.StateDir(), "zk", "zk.pid"))}
	return out
}

func freeAddr() string {
	addr, err := freeport.PickAddr()
	if err != nil {
		panic(err)
	}
	return addr
}

func run(n, workers, batch, rounds int) error {
	bin, err := os.MkdirTemp("", "clusterbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	if out, err := exec.Command("go", "build", "-o", bin+"/", filepath.Join(clustertest.RepoRoot(), "cmd", "ingest")).CombinedOutput(); err != nil {
		return fmt.Errorf("build ingest: %w\n%s", err, out)
	}
	layouts := []layout{
		{"single node, 1 serve 1 sink", false, 1, 1},
		{"cluster, 1 serve 1 sink", true, 1, 1},
		{"cluster, 1 serve 2 sinks", true, 1, 2},
		{"cluster, 2 serves 1 sink", true, 2, 1},
		{"cluster, 2 serves 2 sinks", true, 2, 2},
	}
	fmt.Printf("machine: %d CPUs (%s); load average at start %s\n", runtime.NumCPU(), cpuModel(), loadAvg())
	fmt.Printf("%d events per layout and round, %d rounds interleaved, %d senders x %d events per request; CPU-s per 1M events\n",
		n, rounds, workers, batch)
	head := func() {
		fmt.Printf("%-30s %10s %8s %8s %8s %8s %8s %8s  %s\n", "layout", "events/s", "serve", "sink", "kafka", "ch", "zk", "total", "load avg")
	}
	head()
	results := make([][]result, len(layouts))
	for r := 0; r < rounds; r++ {
		for i, l := range layouts {
			res, err := runLayout(bin, l, n, workers, batch, r*len(layouts)+i)
			if err != nil {
				return fmt.Errorf("%s: %w", l.name, err)
			}
			results[i] = append(results[i], res)
			fmt.Printf("%-30s %10.0f %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f  %s\n", l.name, res.rate,
				res.cpu["serve"], res.cpu["sink"], res.cpu["kafka"], res.cpu["clickhouse"], res.cpu["zookeeper"], res.total(), loadAvg())
		}
	}
	fmt.Printf("\nmedians (min-max) over %d rounds; load average at end %s\n", rounds, loadAvg())
	fmt.Printf("%-30s %-22s", "layout", "events/s")
	for _, c := range append(classes, "total") {
		fmt.Printf(" %-18s", c)
	}
	fmt.Println()
	for i, l := range layouts {
		pick := func(f func(result) float64) []float64 {
			out := make([]float64, 0, len(results[i]))
			for _, r := range results[i] {
				out = append(out, f(r))
			}
			return out
		}
		fmt.Printf("%-30s %-22s", l.name, stat(pick(func(r result) float64 { return r.rate }), "%.0f"))
		for _, c := range classes {
			fmt.Printf(" %-18s", stat(pick(func(r result) float64 { return r.cpu[c] }), "%.1f"))
		}
		fmt.Printf(" %-18s\n", stat(pick(result.total), "%.1f"))
	}
	return nil
}

func runLayout(bin string, l layout, n, workers, batch, idx int) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	name := fmt.Sprintf("bench.cluster.%d.%d", idx, time.Now().Unix())
	var cfg store.Config
	var brokers []string
	if l.cluster {
		cfg = clustertest.ConfigNamed("bench")
		brokers = clustertest.Brokers
		if err := clustertest.CreateTopic(ctx, brokers, name, 6, 3); err != nil {
			return result{}, err
		}
	} else {
		cfg = store.NewDefaultConfig()
		cfg.Database = fmt.Sprintf("bench_cluster_%d", time.Now().UnixNano())
		brokers = bus.DefaultBrokers()
		if err := clustertest.CreateTopic(ctx, brokers, name, 6, 1); err != nil {
			return result{}, err
		}
	}
	defer func() { _ = bus.DeleteTopic(context.Background(), brokers, name) }()
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return result{}, err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx, store.MigrateOptions{Cluster: cfg.Cluster}); err != nil {
		return result{}, err
	}
	defer func() {
		drop, err := queries.Render("migrate/drop_database.sql", queries.Data{DB: cfg.Database, Cluster: cfg.Cluster})
		if err == nil {
			_ = st.Conn.Exec(context.Background(), drop)
		}
	}()
	env := append(os.Environ(), bus.EnvBrokers+"="+strings.Join(brokers, ","), store.EnvAddr+"="+cfg.Addr,
		store.EnvDatabase+"="+cfg.Database, store.EnvCluster+"="+cfg.Cluster)
	var procs []*exec.Cmd
	var serveURLs []string
	serveCPU, sinkCPU := []int{}, []int{}
	start := func(args ...string) (*exec.Cmd, error) {
		c := exec.Command(filepath.Join(bin, "ingest"), args...)
		c.Env = env
		c.Stderr = io.Discard
		if err := c.Start(); err != nil {
			return nil, err
		}
		procs = append(procs, c)
		return c, nil
	}
	defer func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	}()
	for i := 0; i < l.serves; i++ {
		addr := freeAddr()
		c, err := start("serve", "--http", addr, "--grpc", freeAddr(), "--admin", freeAddr(), "--topic", name, "--partitions", "6")
		if err != nil {
			return result{}, err
		}
		serveCPU = append(serveCPU, c.Process.Pid)
		serveURLs = append(serveURLs, "http://"+addr+"/v1/events")
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if conn, err := net.Dial("tcp", addr); err == nil {
				_ = conn.Close()
				break
			}
			if time.Now().After(deadline) {
				return result{}, fmt.Errorf("serve did not listen on %s", addr)
			}
		}
	}
	for i := 0; i < l.sinks; i++ {
		c, err := start("sink", "--topic", name, "--group", name, "--admin", freeAddr(), "--max-age", "500ms")
		if err != nil {
			return result{}, err
		}
		sinkCPU = append(sinkCPU, c.Process.Pid)
	}
	time.Sleep(3 * time.Second) // the group settles
	engines := enginePIDs(l.cluster)
	sum := func(pids []int) float64 {
		var s float64
		for _, p := range pids {
			s += cpuSeconds(p)
		}
		return s
	}
	before := map[string]float64{"serve": sum(serveCPU), "sink": sum(sinkCPU)}
	for k, v := range engines {
		before[k] = sum(v)
	}
	t0 := time.Now()
	var seq atomic.Int64
	var wg sync.WaitGroup
	var sendErr atomic.Value
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			hc := &http.Client{Timeout: 60 * time.Second}
			url := serveURLs[w%len(serveURLs)]
			for {
				lo := seq.Add(int64(batch)) - int64(batch)
				if lo >= int64(n) {
					return
				}
				var body bytes.Buffer
				for i := lo; i < min(lo+int64(batch), int64(n)); i++ {
					fmt.Fprintf(&body, `{"event_id":"b-%d","service":"checkout","name":"GET /checkout","experiment_id":"bench","cohort":"%s","duration_ms":%d}`+"\n",
						i, []string{"control", "experiment"}[i%2], i%200)
				}
				for attempt := 0; ; attempt++ {
					resp, err := hc.Post(url, "application/x-ndjson", bytes.NewReader(body.Bytes()))
					if err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						_ = resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							break
						}
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
					if attempt > 50 {
						sendErr.Store(err)
						return
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
		}(w)
	}
	wg.Wait()
	if e := sendErr.Load(); e != nil {
		return result{}, fmt.Errorf("send: %v", e)
	}
	for {
		got, err := storedEvents(ctx, st)
		if err != nil {
			return result{}, err
		}
		if got >= uint64(n) {
			break
		}
		if ctx.Err() != nil {
			return result{}, fmt.Errorf("stored %d of %d: %w", got, n, ctx.Err())
		}
		time.Sleep(200 * time.Millisecond)
	}
	wall := time.Since(t0)
	after := map[string]float64{"serve": sum(serveCPU), "sink": sum(sinkCPU)}
	for k, v := range engines {
		after[k] = sum(v)
	}
	res := result{rate: float64(n) / wall.Seconds(), cpu: map[string]float64{}}
	for k := range after {
		res.cpu[k] = (after[k] - before[k]) * 1e6 / float64(n)
	}
	return res, nil
}

// storedEvents counts the distinct events stored (queries/ingest/stored_events.sql).
func storedEvents(ctx context.Context, st *store.Client) (uint64, error) {
	rows, err := st.Query(ctx, "ingest/stored_events.sql", nil)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var got uint64
	for rows.Next() {
		if err := rows.Scan(&got); err != nil {
			return 0, fmt.Errorf("scan stored events: %w", err)
		}
	}
	return got, rows.Err()
}
