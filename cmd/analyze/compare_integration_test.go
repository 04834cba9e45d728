//go:build integration

package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/stats"
	"github.com/steadystate/steadystate/pipeline/store"
)

// telemetrygenModule is the independent OTLP client the acceptance test
// sends traces with (`make tools` installs it).
const telemetrygenModule = "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0"

// telemetrygen finds the telemetrygen binary, installing the pinned
// version when it is missing. A missing client fails the test: it never
// skips.
func telemetrygen(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("telemetrygen"); err == nil {
		return p
	}
	gobin := os.Getenv("GOBIN")
	if gobin == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		require.NoError(t, err)
		gobin = filepath.Join(strings.TrimSpace(string(out)), "bin")
	}
	p := filepath.Join(gobin, "telemetrygen")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	out, err := exec.Command("go", "install", telemetrygenModule).CombinedOutput()
	require.NoError(t, err, "telemetrygen is needed (make tools): go install %s:\n%s", telemetrygenModule, out)
	return p
}

func startChild(t *testing.T, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Env = append(os.Environ(), env...)
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	require.NoError(t, err)
	cmd.Stderr, cmd.Stdout = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", name, b)
		}
	})
	return cmd
}

func waitListen(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return
		}
	}
	t.Fatalf("nothing listens on %s", addr)
}

// cohortTraffic is one telemetrygen run: traces of one cohort with one
// status and span duration.
type cohortTraffic struct {
	cohort   string
	status   string
	duration time.Duration
	traces   int
}

func send(t *testing.T, gen, endpoint, exp string, tr cohortTraffic) {
	t.Helper()
	args := []string{"traces", "--otlp-endpoint", endpoint, "--otlp-insecure", "--rate", "0", "--workers", "1",
		"--traces", fmt.Sprint(tr.traces), "--child-spans", "1", "--status-code", tr.status,
		"--span-duration", tr.duration.String(), "--service", "checkout",
		"--otlp-attributes", fmt.Sprintf("chaos.experiment.id=%q", exp),
		"--otlp-attributes", fmt.Sprintf("chaos.experiment.cohort=%q", tr.cohort),
	}
	out, err := exec.Command(gen, args...).CombinedOutput()
	require.NoError(t, err, "telemetrygen %v:\n%s", args, out)
}

func distinctByCohort(ctx context.Context, t *testing.T, c *store.Client, exp string) map[string][2]int64 {
	t.Helper()
	rows, err := c.Conn.Query(ctx, fmt.Sprintf("SELECT toString(cohort), uniqExact(event_id), uniqExactIf(event_id, is_error = 1) FROM %s.events WHERE experiment_id = '%s' GROUP BY cohort", c.DB, exp))
	require.NoError(t, err)
	defer rows.Close()
	out := map[string][2]int64{}
	for rows.Next() {
		var co string
		var n, e uint64
		require.NoError(t, rows.Scan(&co, &n, &e))
		out[co] = [2]int64{int64(n), int64(e)}
	}
	require.NoError(t, rows.Err())
	return out
}

func runCompare(t *testing.T, env []string, exp string, since, until time.Time) (*analysis.Result, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "analyze"), "--experiments", t.TempDir(), "compare", exp, "--output", "json", "--exit-code",
		"--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339))
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	require.NotContains(t, stdout.String(), "NaN")
	var res analysis.Result
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	return &res, code
}

// TestCompareTelemetryThroughIngest is the acceptance test: an
// independent OTLP client (telemetrygen) sends two cohorts of traces with
// different error rates and latencies through `ingest serve` and `ingest
// sink`; `analyze compare --output json` must report the direction, the
// sizes ClickHouse counts, and fail; identical cohorts must not fail.
func TestCompareTelemetryThroughIngest(t *testing.T) {
	gen := telemetrygen(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := chtest.Open(t)
	topic := kafkatest.Topic(t, 3)
	env := []string{kafkatest.EnvBrokers + "=" + strings.Join(kafkatest.Brokers(), ","), store.EnvDatabase + "=" + c.DB}
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	startChild(t, env, "ingest", "serve", "--grpc", grpcAddr, "--http", httpAddr, "--admin", freeAddr(t), "--topic", topic, "--partitions", "3", "--batch-timeout", "10ms")
	startChild(t, env, "ingest", "sink", "--topic", topic, "--group", "g-"+c.DB, "--admin", freeAddr(t), "--max-age", "200ms")
	waitListen(t, grpcAddr)

	since := time.Now().Add(-time.Minute)
	// Different: 1% vs 15% errors, 40 ms vs 90 ms spans (each trace is a
	// parent and a child span).
	for _, tr := range []cohortTraffic{
		{"control", "Ok", 40 * time.Millisecond, 495}, {"control", "Error", 40 * time.Millisecond, 5},
		{"experiment", "Ok", 90 * time.Millisecond, 425}, {"experiment", "Error", 90 * time.Millisecond, 75},
	} {
		send(t, gen, grpcAddr, "tg-diff", tr)
	}
	// Identical: 2% errors and 40 ms in both cohorts.
	for _, co := range []string{"control", "experiment"} {
		send(t, gen, grpcAddr, "tg-same", cohortTraffic{co, "Ok", 40 * time.Millisecond, 490})
		send(t, gen, grpcAddr, "tg-same", cohortTraffic{co, "Error", 40 * time.Millisecond, 10})
	}
	// Wait until the sink stored every span (2 per trace, 2000 per id).
	var diff, same map[string][2]int64
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		diff, same = distinctByCohort(ctx, t, c, "tg-diff"), distinctByCohort(ctx, t, c, "tg-same")
		if diff["control"][0]+diff["experiment"][0] == 2000 && same["control"][0]+same["experiment"][0] == 2000 {
			break
		}
	}
	// The views are written after the events table, in the same insert:
	// what compare reads is there once the sink has committed the records.
	require.NoError(t, kafkatest.WaitCommitted(ctx, kafkatest.Brokers(), topic, "g-"+c.DB, time.Minute))
	require.Equal(t, int64(1000), diff["control"][0], "spans stored: %v", diff)
	require.Equal(t, int64(1000), diff["experiment"][0])
	require.Equal(t, int64(10), diff["control"][1], "error spans of control")
	until := time.Now().Add(time.Minute)

	res, code := runCompare(t, env, "tg-diff", since, until)
	assert.Equal(t, 3, code, "--exit-code exits 3 on fail")
	assert.Equal(t, stats.VerdictFail, res.Verdict)
	assert.Equal(t, diff["control"][0], res.Cohorts.Control, "sizes are ClickHouse's distinct counts")
	assert.Equal(t, diff["experiment"][0], res.Cohorts.Experiment)
	byName := map[string]analysis.Metric{}
	for _, m := range res.Metrics {
		byName[m.Name] = m
	}
	er := byName["error_rate"]
	assert.Equal(t, diff["control"][0], er.Control.N)
	assert.Equal(t, diff["experiment"][1], *er.Experiment.Bad)
	assert.InDelta(t, 0.01, er.Control.Value, 1e-9)
	assert.InDelta(t, 0.15, er.Experiment.Value, 1e-9)
	assert.Positive(t, er.Effect.Absolute, "the experiment cohort errs more")
	assert.Equal(t, stats.VerdictFail, er.Verdict)
	p50 := byName["latency_p50"]
	assert.Equal(t, diff["control"][0], p50.Control.N, "small populations are sampled whole")
	assert.InDelta(t, 0.050, p50.Effect.Absolute, 0.005, "90 ms vs 40 ms spans")
	assert.Equal(t, stats.VerdictFail, p50.Verdict)

	res, code = runCompare(t, env, "tg-same", since, until)
	assert.Equal(t, 0, code)
	assert.NotEqual(t, stats.VerdictFail, res.Verdict)
	assert.Equal(t, same["control"][0], res.Cohorts.Control)
	assert.Equal(t, same["experiment"][0], res.Cohorts.Experiment)
	for _, m := range res.Metrics {
		assert.NotEqual(t, stats.VerdictFail, m.Verdict, m.Name)
	}
}
