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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steadystate/steadystate/internal/testkit/clustertest"
	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/store"
)

func main() {
	n := flag.Int("events", 200_000, "events per layout")
	workers := flag.Int("workers", 4, "concurrent HTTP senders")
	batch := flag.Int("batch", 1000, "events per request")
	flag.Parse()
	if err := run(*n, *workers, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
}

type layout struct {
	name          string
	cluster       bool
	serves, sinks int
}

func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// enginePIDs lists the pids of a stack's engines by class.
func enginePIDs(cluster bool) map[string][]int {
	state := os.Getenv("STEADYSTATE_STATE_DIR")
	if state == "" {
		state = filepath.Join(clustertest.RepoRoot(), ".state")
	}
	read := func(p string) int {
		b, err := os.ReadFile(p) //nolint:gosec // G703: pid files under the state directory
		if err != nil {
			return 0
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	out := map[string][]int{}
	if !cluster {
		out["kafka"] = []int{read(filepath.Join(state, "kafka", "kafka.pid"))}
		out["clickhouse"] = []int{read(filepath.Join(state, "clickhouse", "clickhouse.pid"))}
		return out
	}
	for i := 1; i <= 3; i++ {
		out["kafka"] = append(out["kafka"], read(filepath.Join(state, "cluster", fmt.Sprintf("kafka%d", i), "kafka.pid")))
	}
	for i := 0; i < 4; i++ {
		out["clickhouse"] = append(out["clickhouse"], read(filepath.Join(state, "cluster", fmt.Sprintf("ch%d", i), "clickhouse.pid")))
	}
	out["zookeeper"] = []int{read(filepath.Join(state, "cluster", "zk", "zk.pid"))}
	return out
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func run(n, workers, batch int) error {
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
		{"cluster, 2 serves 2 sinks", true, 2, 2},
	}
	fmt.Printf("%d events per layout, %d senders x %d events per request; CPU-s per 1M events\n", n, workers, batch)
	fmt.Printf("%-30s %10s %8s %8s %8s %8s %8s %8s\n", "layout", "events/s", "serve", "sink", "kafka", "ch", "zk", "total")
	for i, l := range layouts {
		if err := runLayout(bin, l, n, workers, batch, i); err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
	}
	return nil
}

func runLayout(bin string, l layout, n, workers, batch, idx int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	name := fmt.Sprintf("bench.cluster.%d.%d", idx, time.Now().Unix())
	var cfg store.Config
	var brokers []string
	if l.cluster {
		cfg = clustertest.ConfigNamed("bench")
		brokers = clustertest.Brokers
		if err := clustertest.CreateTopic(ctx, brokers, name, 6, 3); err != nil {
			return err
		}
	} else {
		cfg = store.NewDefaultConfig()
		cfg.Database = fmt.Sprintf("bench_cluster_%d", time.Now().UnixNano())
		brokers = bus.DefaultBrokers()
		if err := clustertest.CreateTopic(ctx, brokers, name, 6, 1); err != nil {
			return err
		}
	}
	defer func() { _ = bus.DeleteTopic(context.Background(), brokers, name) }()
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx, store.MigrateOptions{Cluster: cfg.Cluster}); err != nil {
		return err
	}
	defer func() {
		drop := "DROP DATABASE IF EXISTS " + cfg.Database
		if cfg.Cluster != "" {
			drop += " ON CLUSTER " + cfg.Cluster
		}
		_ = st.Conn.Exec(context.Background(), drop)
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
			return err
		}
		serveCPU = append(serveCPU, c.Process.Pid)
		serveURLs = append(serveURLs, "http://"+addr+"/v1/events")
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if conn, err := net.Dial("tcp", addr); err == nil {
				_ = conn.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("serve did not listen on %s", addr)
			}
		}
	}
	for i := 0; i < l.sinks; i++ {
		c, err := start("sink", "--topic", name, "--group", name, "--admin", freeAddr(), "--max-age", "500ms")
		if err != nil {
			return err
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
		return fmt.Errorf("send: %v", e)
	}
	for {
		var got uint64
		if err := st.Conn.QueryRow(ctx, fmt.Sprintf("SELECT uniqExact(event_id) FROM %s.events", cfg.Database)).Scan(&got); err != nil {
			return err
		}
		if got >= uint64(n) {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("stored %d of %d: %w", got, n, ctx.Err())
		}
		time.Sleep(200 * time.Millisecond)
	}
	wall := time.Since(t0)
	after := map[string]float64{"serve": sum(serveCPU), "sink": sum(sinkCPU)}
	for k, v := range engines {
		after[k] = sum(v)
	}
	per := func(k string) float64 { return (after[k] - before[k]) * 1e6 / float64(n) }
	total := 0.0
	for k := range after {
		total += per(k)
	}
	fmt.Printf("%-30s %10.0f %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f\n", l.name, float64(n)/wall.Seconds(),
		per("serve"), per("sink"), per("kafka"), per("clickhouse"), per("zookeeper"), total)
	return nil
}
