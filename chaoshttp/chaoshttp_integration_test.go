//go:build integration

package chaoshttp_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steadystate/steadystate/internal/testkit/freeport"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"

	"github.com/steadystate/steadystate/chaoshttp"
	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/pipeline/store"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	return freeport.Addr(t)
}

// startIngest builds cmd/ingest and runs `ingest serve` and `ingest sink`
// on a fresh topic into db; it returns the OTLP/gRPC address.
func startIngest(t *testing.T, db string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ingest")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/ingest").CombinedOutput()
	require.NoError(t, err, "build ingest: %s", out)
	topic := kafkatest.Topic(t, 3)
	env := append(os.Environ(), kafkatest.EnvBrokers+"="+strings.Join(kafkatest.Brokers(), ","),
		store.EnvDatabase+"="+db)
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	start := func(name string, args ...string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		f, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
		require.NoError(t, err)
		cmd.Stderr = f
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			_ = f.Close()
			if t.Failed() {
				b, _ := os.ReadFile(f.Name())
				t.Logf("%s log:\n%s", name, b)
			}
		})
	}
	start("serve", "serve", "--grpc", grpcAddr, "--http", httpAddr, "--admin", freeAddr(t), "--topic", topic, "--partitions", "3")
	start("sink", "sink", "--topic", topic, "--group", topic+".sink", "--admin", freeAddr(t), "--max-age", "200ms")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", grpcAddr); err == nil {
			_ = c.Close()
			return grpcAddr
		}
		require.True(t, time.Now().Before(deadline), "ingest serve did not listen on %s", grpcAddr)
	}
}

// tracerFor is what a service does at startup: the OTel SDK exporting OTLP
// to ingest, with the baggage span processor.
func tracerFor(ctx context.Context, t *testing.T, service, endpoint string) *sdktrace.TracerProvider {
	t.Helper()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service))),
		sdktrace.WithSpanProcessor(chaoshttp.NewBaggageSpanProcessor()),
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(200*time.Millisecond)),
	)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// opName names server spans after the operation ("POST /pay"), as the
// experiment's SLI filters expect.
var opName = otelhttp.WithSpanNameFormatter(func(op string, _ *http.Request) string { return op })

// The frontend decides the cohort by subject hash and calls payment with
// the cohort in baggage; payment (which has no idea of users or flags)
// fails the experiment cohort with 500. The events ingest stores for the
// downstream payment service carry the cohort of each call: its server
// spans from the handler, its inner spans from the baggage span processor.
func TestCohortReachesDownstreamEventsThroughIngest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := chtest.Open(t)
	endpoint := startIngest(t, c.DB)
	const exp = "chaoshttp-it"
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

	paymentTP := tracerFor(ctx, t, "payment", endpoint)
	payment, err := chaoshttp.New(chaoshttp.Config{ExperimentID: exp, Fault: chaoshttp.Fault{Status: 500}})
	require.NoError(t, err)
	paymentSrv := httptest.NewServer(otelhttp.NewHandler(payment.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, span := paymentTP.Tracer("payment").Start(r.Context(), "charge card")
		span.End()
		_, _ = io.WriteString(w, "paid")
	})), "POST /pay", otelhttp.WithTracerProvider(paymentTP), otelhttp.WithPropagators(prop), opName))
	defer paymentSrv.Close()

	frontendTP := tracerFor(ctx, t, "frontend", endpoint)
	byHash, err := chaoshttp.ByHash(chaoshttp.HeaderSubject("X-User-ID"), exp, 300)
	require.NoError(t, err)
	frontend, err := chaoshttp.New(chaoshttp.Config{ExperimentID: exp, Cohort: byHash})
	require.NoError(t, err)
	client := &http.Client{Transport: otelhttp.NewTransport(frontend.Transport(nil),
		otelhttp.WithTracerProvider(frontendTP), otelhttp.WithPropagators(prop))}
	frontendSrv := httptest.NewServer(otelhttp.NewHandler(frontend.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, paymentSrv.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_ = resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	})), "GET /checkout", otelhttp.WithTracerProvider(frontendTP), otelhttp.WithPropagators(prop), opName))
	defer frontendSrv.Close()

	const users = 60
	wantExp := 0
	for i := range users {
		user := fmt.Sprint("user-", i)
		inExp := chaoshttp.HashPerMille(exp, user) < 300
		if inExp {
			wantExp++
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, frontendSrv.URL, nil)
		require.NoError(t, err)
		req.Header.Set("X-User-ID", user)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, map[bool]int{true: 500, false: 200}[inExp], resp.StatusCode, user)
	}
	require.Positive(t, wantExp)
	require.NoError(t, paymentTP.ForceFlush(ctx))
	require.NoError(t, frontendTP.ForceFlush(ctx))

	type row struct {
		name, cohort string
		status       uint16
	}
	query := fmt.Sprintf(`SELECT name, toString(cohort), http_status, count() FROM %s.events
		WHERE service = 'payment' AND experiment_id = '%s' GROUP BY name, cohort, http_status ORDER BY name, cohort, http_status`, c.DB, exp)
	var got map[row]uint64
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		got = map[row]uint64{}
		rows, err := c.Conn.Query(ctx, query)
		require.NoError(t, err)
		var total uint64
		for rows.Next() {
			var r row
			var n uint64
			require.NoError(t, rows.Scan(&r.name, &r.cohort, &r.status, &n))
			got[r] = n
			total += n
		}
		require.NoError(t, rows.Err())
		rows.Close()
		if total >= uint64(2*users-wantExp) {
			break
		}
	}
	want := map[row]uint64{
		{name: "POST /pay", cohort: "experiment", status: 500}: uint64(wantExp),
		{name: "POST /pay", cohort: "control", status: 200}:    uint64(users - wantExp),
		{name: "charge card", cohort: "control"}:               uint64(users - wantExp),
	}
	assert.Equal(t, want, got, "payment's stored events by name, cohort and HTTP status")

	var untagged uint64
	require.NoError(t, c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.events WHERE experiment_id = ''", c.DB)).Scan(&untagged))
	assert.Zero(t, untagged, "every span of both services is tagged")
}
