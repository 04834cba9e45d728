package clustertest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/queries"
)

// Brokers of the local cluster (deploy/local/cluster/env.sh).
var Brokers = []string{"127.0.0.1:19092", "127.0.0.1:19093", "127.0.0.1:19094"}

// CHAddrs are the ClickHouse servers: index n is shard n/2+1, replica n%2+1.
var CHAddrs = []string{"127.0.0.1:19000", "127.0.0.1:19001", "127.0.0.1:19002", "127.0.0.1:19003"}

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Settings reads deploy/cluster.env, the one file with the topology.
func Settings() (map[string]string, error) {
	return ReadEnvFile(filepath.Join(RepoRoot(), "deploy", "cluster.env"))
}

// ReadEnvFile parses KEY=VALUE lines; # starts a comment line.
func ReadEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read cluster settings: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: line %q is not KEY=VALUE", path, line)
		}
		out[k] = v
	}
	return out, sc.Err()
}

// Name is the cluster name of remote_servers.
func Name() string {
	s, err := Settings()
	if err != nil || s["CLUSTER_NAME"] == "" {
		return "steadystate"
	}
	return s["CLUSTER_NAME"]
}

// StateDir is where the cluster keeps pid files, data and logs:
// $STEADYSTATE_CLUSTER_DIR, else $STEADYSTATE_STATE_DIR/cluster (as
// deploy/local/cluster/env.sh).
func StateDir() string {
	if d := os.Getenv("STEADYSTATE_CLUSTER_DIR"); d != "" {
		return d
	}
	d := os.Getenv("STEADYSTATE_STATE_DIR")
	if d == "" {
		d = filepath.Join(RepoRoot(), ".state")
	}
	return filepath.Join(d, "cluster")
}

// upTimeout bounds one run of up.sh. Its own waits add up to about five
// minutes when every engine starts from nothing (ZooKeeper 60 s, the
// ClickHouse servers 90 s, the brokers 120 s, plus the Kafka jars on a
// fresh machine); a start that takes longer is stuck, and the test must
// fail saying so instead of running into the suite's timeout.
const upTimeout = 8 * time.Minute

// Up starts whatever part of the cluster's engines is not running
// (deploy/local/cluster/up.sh, idempotent) and returns its output. A run
// longer than upTimeout is killed with its children and reported.
func Up() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), upTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(RepoRoot(), "deploy", "local", "cluster", "up.sh"))
	cmd.Env = append(os.Environ(), "CLUSTER_INGEST=0")
	// Its own process group, so a timeout kills the waiting checks too
	// (the engines it starts detach with setsid and are not affected).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("start the cluster (make up CLUSTER=1): still not up after %s, killed it; its output so far:\n%s", upTimeout, out)
	}
	if err != nil {
		return string(out), fmt.Errorf("start the cluster (make up CLUSTER=1): %w\n%s", err, out)
	}
	return string(out), nil
}

// pid reads a pid file of the cluster.
func pid(rel string) (int, error) {
	b, err := os.ReadFile(filepath.Join(StateDir(), rel))
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Signal sends sig to a process of the cluster: "ch0".."ch3",
// "kafka1".."kafka3" or "zk", and with SIGKILL or SIGTERM waits until it
// is gone.
func Signal(proc string, sig syscall.Signal) error {
	rel := map[bool]string{true: proc + "/clickhouse.pid", false: proc + "/kafka.pid"}[strings.HasPrefix(proc, "ch")]
	if proc == "zk" {
		rel = "zk/zk.pid"
	}
	p, err := pid(rel)
	if err != nil {
		return err
	}
	if err := syscall.Kill(p, sig); err != nil {
		return fmt.Errorf("signal %s (pid %d): %w", proc, p, err)
	}
	if sig == syscall.SIGSTOP || sig == syscall.SIGCONT {
		return nil
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if syscall.Kill(p, 0) != nil {
			return nil
		}
		// A child of ours would stay a zombie; these are setsid'd by up.sh.
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p)); err == nil && strings.Contains(string(b), ") Z ") {
			return nil
		}
	}
	return fmt.Errorf("%s (pid %d) still runs 60s after %v", proc, p, sig)
}

// DB is a fresh database migrated ON CLUSTER.
type DB struct {
	*store.Client
	Cfg store.Config
}

// Config is the store config of a uniquely named database on the cluster,
// reaching it through all four servers.
func Config(tb testing.TB) store.Config {
	tb.Helper()
	return ConfigNamed(tb.Name())
}

// ConfigNamed is Config for a name other than a test's.
func ConfigNamed(testName string) store.Config {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, strings.ToLower(testName))
	if len(name) > 30 {
		name = name[:30]
	}
	cfg := store.NewDefaultConfig()
	cfg.Addr = strings.Join(CHAddrs, ",")
	cfg.Cluster = Name()
	cfg.Database = fmt.Sprintf("c_%s_%s", name, hex.EncodeToString(b[:]))
	return cfg
}

// OpenDB creates and migrates a fresh database on the cluster and drops it
// ON CLUSTER when the test ends.
func OpenDB(tb testing.TB) *DB {
	tb.Helper()
	cfg := Config(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := store.Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("the cluster's ClickHouse is not reachable at %s (make up CLUSTER=1): %v", cfg.Addr, err)
	}
	if _, err := c.Migrate(ctx, store.MigrateOptions{Cluster: cfg.Cluster}); err != nil {
		_ = c.Close()
		tb.Fatalf("migrate --cluster %s: %v", cfg.Database, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		drop, err := queries.Render("migrate/drop_database.sql", queries.Data{DB: cfg.Database, Cluster: cfg.Cluster})
		if err == nil {
			err = c.Conn.Exec(ctx, drop)
		}
		if err != nil {
			tb.Logf("drop %s: %v", cfg.Database, err)
		}
		_ = c.Close()
	})
	return &DB{Client: c, Cfg: cfg}
}

// Topic creates a uniquely named topic on the cluster's brokers with
// replication factor 3 (min.insync.replicas 2) and its dead-letter topic,
// and deletes both when the test ends.
func Topic(tb testing.TB, partitions int) string {
	tb.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := fmt.Sprintf("ctest.%s.%s", strings.NewReplacer("/", ".", " ", "_").Replace(tb.Name()), hex.EncodeToString(b[:]))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, t := range []string{name, name + ".dlq"} {
		if err := CreateTopic(ctx, Brokers, t, partitions, 3); err != nil {
			tb.Fatalf("the cluster's Kafka is not usable at %v (make up CLUSTER=1): %v", Brokers, err)
		}
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = bus.DeleteTopic(ctx, Brokers, name)
		_ = bus.DeleteTopic(ctx, Brokers, name+".dlq")
	})
	return name
}

// Env is the environment of a serve or sink process on the cluster.
func (d *DB) Env() []string {
	return []string{
		bus.EnvBrokers + "=" + strings.Join(Brokers, ","),
		store.EnvAddr + "=" + d.Cfg.Addr,
		store.EnvDatabase + "=" + d.Cfg.Database,
		store.EnvCluster + "=" + d.Cfg.Cluster,
	}
}
