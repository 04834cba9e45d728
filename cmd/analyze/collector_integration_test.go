//go:build integration

package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// collectorConfig is a Collector that receives OTLP over gRPC and HTTP,
// batches, and exports with the given exporter to ingest. (Its own
// telemetry is logs only: it opens no port but its receivers'.)
func collectorConfig(grpcAddr, httpAddr, exporter string) string {
	return fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc: {endpoint: %q}
      http: {endpoint: %q}
processors:
  batch: {timeout: 200ms, send_batch_size: 256}
exporters:
%s
service:
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [%s]}
`, grpcAddr, httpAddr, exporter, strings.SplitN(strings.TrimSpace(exporter), ":", 2)[0])
}

// TestCollectorInFrontOfIngest runs a real OpenTelemetry Collector (built
// from the upstream modules by internal/testkit/otelcol: OTLP receiver,
// batch processor, otlp and otlphttp exporters) between the Python
// OpenTelemetry + OpenFeature shop and `ingest serve`: the shop's gRPC run
// goes to a Collector that exports over OTLP/gRPC, its HTTP/protobuf run to
// one that exports over OTLP/HTTP. The Collector re-batches and merges the
// two services' spans, so which spans reach ingest first is its choice;
// every span must still be stored once and every payment span must take
// its trace's cohort, and compare must fail the experiment.
func TestCollectorInFrontOfIngest(t *testing.T) {
	// Built here, not in TestMain: only this test needs it (a first build
	// of the collector modules takes minutes on a loaded machine).
	col := filepath.Join(binDir, "otelcol")
	out, err := exec.Command("go", "build", "-o", col, "../../internal/testkit/otelcol").CombinedOutput()
	require.NoError(t, err, "build the test Collector:\n%s", out)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	c := chtest.Open(t)
	topic := kafkatest.Topic(t, 3)
	defs := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(defs, "of.yaml"), []byte(sdkExperiment), 0o600))
	env := []string{kafkatest.EnvBrokers + "=" + strings.Join(kafkatest.Brokers(), ","), store.EnvDatabase + "=" + c.DB}
	ingestGRPC, ingestHTTP := freeAddr(t), freeAddr(t)
	startChild(t, env, "ingest", "serve", "--grpc", ingestGRPC, "--http", ingestHTTP, "--admin", freeAddr(t), "--topic", topic,
		"--partitions", "3", "--batch-timeout", "10ms", "--experiments", defs)
	startChild(t, env, "ingest", "sink", "--topic", topic, "--group", "g-"+c.DB, "--admin", freeAddr(t), "--max-age", "200ms")

	// Collector G exports over OTLP/gRPC, Collector H over OTLP/HTTP
	// (protobuf, gzip: the exporters' defaults).
	gGRPC, gHTTP, hGRPC, hHTTP := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	cfgs := t.TempDir()
	for name, cfg := range map[string]string{
		"g.yaml": collectorConfig(gGRPC, gHTTP, fmt.Sprintf("  otlp:\n    endpoint: %q\n    tls: {insecure: true}", ingestGRPC)),
		"h.yaml": collectorConfig(hGRPC, hHTTP, fmt.Sprintf("  otlphttp:\n    endpoint: %q", "http://"+ingestHTTP)),
	} {
		require.NoError(t, os.WriteFile(filepath.Join(cfgs, name), []byte(cfg), 0o600))
	}
	startChild(t, nil, "otelcol", "--config", filepath.Join(cfgs, "g.yaml"))
	startChild(t, nil, "otelcol", "--config", filepath.Join(cfgs, "h.yaml"))
	for _, a := range []string{ingestGRPC, ingestHTTP, gGRPC, gHTTP, hGRPC, hHTTP} {
		waitListen(t, a)
	}

	since := time.Now().Add(-time.Minute)
	const perRun = 300
	g := runShop(t, "--protocol", "grpc", "--checkout", gGRPC, "--payment", gGRPC, "--order", "in",
		"--requests", fmt.Sprint(perRun), "--prefix", "cg")
	h := runShop(t, "--protocol", "http", "--checkout", "http://"+hHTTP, "--payment", "http://"+hHTTP, "--order", "out",
		"--requests", fmt.Sprint(perRun), "--prefix", "ch")
	on, off := g.On+h.On, g.Off+h.Off
	failed := g.PaymentFailedOn + h.PaymentFailedOn
	require.Positive(t, on)
	require.Positive(t, failed)

	total := uint64(4 * perRun)
	count := func(where string) uint64 {
		return scalar(ctx, t, c, fmt.Sprintf("SELECT uniqExact(event_id) FROM %s.events WHERE %s", c.DB, where))
	}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if count("1") == total &&
			scalar(ctx, t, c, fmt.Sprintf("SELECT uniqExact(trace_id) FROM %s.trace_cohorts_v2", c.DB)) == uint64(2*perRun) {
			break
		}
	}
	require.Equal(t, total, count("1"), "every span the shop sent through the Collectors stored")
	assert.Equal(t, total, scalar(ctx, t, c, fmt.Sprintf("SELECT count() FROM %s.events", c.DB)), "and stored once")
	assert.Equal(t, uint64(2*perRun), count("service = 'checkout' AND experiment_id = 'of-payment' AND cohort != 'none'"),
		"every checkout span tagged by its evaluation event, which the Collector passed on")
	assert.Equal(t, uint64(2*perRun), count("service = 'payment'"))

	until := time.Now().Add(time.Minute)
	cmd := exec.Command(filepath.Join(binDir, "analyze"), "--experiments", defs, "compare", "of-payment", "--output", "json", "--exit-code",
		"--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339))
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "compare must exit 3 on fail: %v\n%s", err, stderr.String())
	assert.Equal(t, 3, ee.ExitCode())
	var res analysis.Result
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Equal(t, stats.VerdictFail, res.Verdict)
	assert.Equal(t, 2*on, res.Cohorts.Experiment, "checkout and payment spans of the flag-on requests")
	assert.Equal(t, 2*off, res.Cohorts.Control)
	for _, m := range res.Metrics {
		if m.Name == "payment_errors" {
			assert.Equal(t, on, m.Experiment.N, "every payment span of the cohort, tagged by its trace")
			assert.Equal(t, off, m.Control.N)
			assert.Equal(t, failed, *m.Experiment.Bad)
			assert.Equal(t, int64(0), *m.Control.Bad)
			assert.Equal(t, stats.VerdictFail, m.Verdict)
		}
	}
	require.NotNil(t, res.Tagging)
	tg := res.Tagging
	direct := tg.Direct.Control + tg.Direct.Experiment
	byTrace := tg.TraceIngest.Control + tg.TraceIngest.Experiment + tg.TraceClickHouse.Control + tg.TraceClickHouse.Experiment
	assert.Equal(t, int64(2*perRun), direct, "checkout spans: their own evaluation")
	assert.Equal(t, int64(2*perRun), byTrace, "payment spans: their trace's cohort")
	t.Logf("through the Collector: %d spans; tagged directly %d, by trace at ingest %d, by trace in ClickHouse %d",
		total, direct, tg.TraceIngest.Control+tg.TraceIngest.Experiment, tg.TraceClickHouse.Control+tg.TraceClickHouse.Experiment)
}
