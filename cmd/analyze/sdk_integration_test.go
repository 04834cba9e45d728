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

// The experiment a team using only OpenTelemetry and OpenFeature defines:
// the cohort comes from the flag evaluation their hook records.
const sdkExperiment = `experiments:
  - id: of-payment
    title: Payment API fails for the payment-chaos cohort
    hypothesis: checkout degrades gracefully when payment fails
    owner: team-checkout
    cohorts:
      expected_split: {experiment: 0.3, control: 0.7}
      rules:
        - cohort: experiment
          feature_flag: {key: payment-chaos, variant: "on"}
        - cohort: control
          feature_flag: {key: payment-chaos, variant: "off"}
    slis:
      - name: checkout_errors
        type: error_rate
        filter: {service: checkout, operation: "GET /checkout"}
        tolerance: {absolute: 0.01}
      - name: payment_errors
        type: error_rate
        filter: {service: payment}
        tolerance: {absolute: 0.01}
`

type shopCounts struct {
	On               int64 `json:"on"`
	Off              int64 `json:"off"`
	PaymentFailedOn  int64 `json:"payment_failed_on"`
	PaymentFailedOff int64 `json:"payment_failed_off"`
}

// shopRunner runs one shop (Python or JavaScript) with the given flags and
// returns what it sent.
type shopRunner func(t *testing.T, args ...string) shopCounts

func runShop(t *testing.T, args ...string) shopCounts {
	t.Helper()
	py := os.Getenv("PYTHON")
	if py == "" {
		py = "python3"
	}
	return runShopCmd(t, exec.Command(py, append([]string{"testdata/otel_openfeature_shop.py"}, args...)...),
		"install the SDKs with scripts/pydeps.sh")
}

// runJSShop runs the JavaScript shop on the npm packages its lock file
// pins, installed once into the state dir by scripts/jsdeps.sh (a failed
// install fails the test: in CI it must not skip).
func runJSShop(t *testing.T, args ...string) shopCounts {
	t.Helper()
	var stderr bytes.Buffer
	deps := exec.Command("bash", "../../scripts/jsdeps.sh")
	deps.Stderr = &stderr
	out, err := deps.Output()
	require.NoError(t, err, "scripts/jsdeps.sh (Node.js with npm and the npm registry are needed):\n%s", stderr.String())
	cmd := exec.Command("node", append([]string{"testdata/js_shop/shop.js"}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+strings.TrimSpace(string(out)))
	return runShopCmd(t, cmd, "node_modules from scripts/jsdeps.sh")
}

func runShopCmd(t *testing.T, cmd *exec.Cmd, hint string) shopCounts {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "the shop (%s) %v:\n%s", hint, cmd.Args, stderr.String())
	var c shopCounts
	require.NoError(t, json.Unmarshal(out, &c), "shop output %s\n%s", out, stderr.String())
	return c
}

// TestOpenTelemetryAndOpenFeatureSDKs is the acceptance test with real
// SDKs: a Python shop using only the OpenTelemetry SDK (OTLP over gRPC and
// over HTTP/protobuf) and the OpenFeature SDK with its official
// OpenTelemetry hook sends traces to two `ingest serve` instances and one
// `ingest sink`. Every checkout span gets its cohort from the hook's
// feature_flag.evaluation event; every span of the payment service (no
// flag, no baggage) gets its trace's: in order through the same instance at
// ingest, out of order through the other instance in ClickHouse. compare
// must fail the experiment from that telemetry alone.
func TestOpenTelemetryAndOpenFeatureSDKs(t *testing.T) {
	sdkAcceptance(t, "Python", runShop)
}

// TestOpenTelemetryAndOpenFeatureJavaScriptSDKs is the same acceptance test
// with the JavaScript SDKs from npm (versions pinned by
// testdata/js_shop/package-lock.json): @opentelemetry/sdk-trace-base with
// @opentelemetry/exporter-trace-otlp-grpc and -proto, and
// @openfeature/server-sdk with @openfeature/open-telemetry-hooks'
// SpanEventHook.
func TestOpenTelemetryAndOpenFeatureJavaScriptSDKs(t *testing.T) {
	sdkAcceptance(t, "JavaScript", runJSShop)
}

func sdkAcceptance(t *testing.T, sdk string, shop shopRunner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := chtest.Open(t)
	topic := kafkatest.Topic(t, 3)
	defs := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(defs, "of.yaml"), []byte(sdkExperiment), 0o600))
	env := []string{kafkatest.EnvBrokers + "=" + strings.Join(kafkatest.Brokers(), ","), store.EnvDatabase + "=" + c.DB}
	grpcA, httpA, grpcB, httpB := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	startChild(t, env, "ingest", "serve", "--grpc", grpcA, "--http", httpA, "--admin", freeAddr(t), "--topic", topic,
		"--partitions", "3", "--batch-timeout", "10ms", "--experiments", defs)
	startChild(t, env, "ingest", "serve", "--grpc", grpcB, "--http", httpB, "--admin", freeAddr(t), "--topic", topic,
		"--partitions", "3", "--batch-timeout", "10ms", "--experiments", defs)
	startChild(t, env, "ingest", "sink", "--topic", topic, "--group", "g-"+c.DB, "--admin", freeAddr(t), "--max-age", "200ms")
	for _, a := range []string{grpcA, httpA, grpcB, httpB} {
		waitListen(t, a)
	}

	since := time.Now().Add(-time.Minute)
	const perRun = 300
	// Three requests per user: the analysis is per user (the default
	// unit, the flag's targeting key), payment spans counted for the user
	// of their trace.
	const perUser = 3
	// gRPC, in order, one instance: checkout's spans (with the deciding
	// evaluation) reach ingest before payment's.
	g := shop(t, "--protocol", "grpc", "--checkout", grpcA, "--payment", grpcA, "--order", "in",
		"--requests", fmt.Sprint(perRun), "--requests-per-user", fmt.Sprint(perUser), "--prefix", "g")
	// HTTP/protobuf, out of order, two instances: every payment span
	// reaches instance B before any checkout span reaches instance A.
	h := shop(t, "--protocol", "http", "--checkout", "http://"+httpA, "--payment", "http://"+httpB, "--order", "out",
		"--requests", fmt.Sprint(perRun), "--requests-per-user", fmt.Sprint(perUser), "--prefix", "h")
	on, off := g.On+h.On, g.Off+h.Off
	failed := g.PaymentFailedOn + h.PaymentFailedOn
	require.Positive(t, on)
	require.Positive(t, failed)
	require.Zero(t, g.PaymentFailedOff+h.PaymentFailedOff)

	total := int64(4 * perRun)
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		// The views of an insert are written after its events: wait for
		// the deciding spans' trace_cohorts_v2 rows too.
		if scalar(ctx, t, c, fmt.Sprintf("SELECT uniqExact(event_id) FROM %s.events", c.DB)) == uint64(total) &&
			scalar(ctx, t, c, fmt.Sprintf("SELECT uniqExact(trace_id) FROM %s.trace_cohorts_v2", c.DB)) == uint64(2*perRun) {
			break
		}
	}
	require.Equal(t, uint64(total), scalar(ctx, t, c, fmt.Sprintf("SELECT uniqExact(event_id) FROM %s.events", c.DB)), "every span stored")
	// ClickHouse writes an insert's views one after another (by name:
	// trace_cohorts_v2_mv before trace_subjects and the unit_* views), so the
	// counts above can be complete while the last insert's unit rows are
	// not: compare then counted the users of one shop run only (units 28
	// of 55, under load). Every view is written once the sink committed.
	require.NoError(t, kafkatest.WaitCommitted(ctx, kafkatest.Brokers(), topic, "g-"+c.DB, time.Minute))
	// The evaluation events' attributes and the targeting key are kept.
	assert.Equal(t, uint64(2*perRun), scalar(ctx, t, c, fmt.Sprintf(
		"SELECT uniqExact(event_id) FROM %s.events WHERE service = 'checkout' AND has(attr_keys, 'feature_flag.context.id') AND subject_id != '' AND has(attr_keys, 'feature_flag.provider.name')", c.DB)))
	assert.Equal(t, uint64(2*perRun), scalar(ctx, t, c, fmt.Sprintf(
		"SELECT uniqExact(event_id) FROM %s.events WHERE service = 'checkout' AND experiment_id = 'of-payment' AND cohort != 'none'", c.DB)), "every checkout span tagged by its evaluation")

	until := time.Now().Add(time.Minute)
	cmd := exec.Command(filepath.Join(binDir, "analyze"), "--experiments", defs, "compare", "of-payment", "--output", "json", "--exit-code",
		"--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339))
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "compare must exit 3 on fail: %v\n%s", err, stderr.String())
	assert.Equal(t, 3, ee.ExitCode())
	var res analysis.Result
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Equal(t, stats.VerdictFail, res.Verdict, stdout.String())
	assert.Equal(t, 2*on, res.Cohorts.Experiment, "checkout and payment spans of the flag-on requests")
	assert.Equal(t, 2*off, res.Cohorts.Control)
	byName := map[string]analysis.Metric{}
	for _, m := range res.Metrics {
		byName[m.Name] = m
	}
	pay := byName["payment_errors"]
	assert.Equal(t, "subject", res.Unit)
	assert.Equal(t, analysis.TestDeltaMethod, pay.Test)
	assert.Equal(t, on/perUser, pay.Experiment.Units, "every payment span counts for the user of its trace")
	assert.Equal(t, off/perUser, pay.Control.Units)
	assert.Equal(t, on/perUser, byName["checkout_errors"].Experiment.Units)
	assert.Equal(t, on, pay.Experiment.N, "every payment span of the cohort, tagged by its trace")
	assert.Equal(t, off, pay.Control.N)
	assert.Equal(t, failed, *pay.Experiment.Bad)
	assert.Equal(t, int64(0), *pay.Control.Bad)
	assert.Equal(t, stats.VerdictFail, pay.Verdict)
	assert.Equal(t, stats.VerdictFail, byName["checkout_errors"].Verdict)

	require.NotNil(t, res.Tagging)
	tg := res.Tagging
	direct := tg.Direct.Control + tg.Direct.Experiment
	ingest := tg.TraceIngest.Control + tg.TraceIngest.Experiment
	inCH := tg.TraceClickHouse.Control + tg.TraceClickHouse.Experiment
	assert.Equal(t, int64(2*perRun), direct, "checkout spans: their own evaluation")
	assert.Equal(t, int64(perRun), ingest, "in-order payment spans: tagged by trace at ingest")
	assert.Equal(t, int64(perRun), inCH, "out-of-order payment spans via the other instance: by trace in ClickHouse")
	t.Logf("%s SDK acceptance: %d spans; tagged directly %d (%.1f%%), by trace at ingest %d (%.1f%%), by trace in ClickHouse %d (%.1f%%); out-of-order run: payment spans by trace in ClickHouse %d of %d",
		sdk, total, direct, 100*float64(direct)/float64(total), ingest, 100*float64(ingest)/float64(total), inCH, 100*float64(inCH)/float64(total), inCH, perRun)
}

func scalar(ctx context.Context, t *testing.T, c *store.Client, sql string) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, c.Conn.QueryRow(ctx, sql).Scan(&n), sql)
	return n
}
