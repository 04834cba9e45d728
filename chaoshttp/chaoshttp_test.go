package chaoshttp

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

const expID = "checkout-payment-500"

// newTracer returns a tracer provider that records finished spans, with
// the baggage span processor installed.
func newTracer(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(NewBaggageSpanProcessor()), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

func attrs(s sdktrace.ReadOnlySpan) map[string]string {
	out := map[string]string{}
	for _, kv := range s.Attributes() {
		out[string(kv.Key)] = kv.Value.String()
	}
	return out
}

func mustNew(t *testing.T, cfg Config) *Injector {
	t.Helper()
	in, err := New(cfg)
	require.NoError(t, err)
	return in
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"ok", Config{ExperimentID: expID, Fault: Fault{Status: 500}}, ""},
		{"tag only", Config{ExperimentID: expID}, ""},
		{"no id", Config{}, "experiment id: must not be empty"},
		{"bad id", Config{ExperimentID: "a b"}, `experiment id: "a b" has ' ' at byte 1`},
		{"status", Config{ExperimentID: expID, Fault: Fault{Status: 999}}, "fault status 999: want an HTTP status code from 100 to 599"},
		{"latency", Config{ExperimentID: expID, Fault: Fault{Latency: -time.Second}}, "fault latency -1s: must be >= 0"},
		{"drop and status", Config{ExperimentID: expID, Fault: Fault{Drop: true, Status: 500}}, "fault drop: cannot be combined"},
		{"share", Config{ExperimentID: expID, FaultPerMille: 1001}, "fault per mille 1001: want 0 to 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.err)
		})
	}
}

func TestHashPerMille(t *testing.T) {
	// The documented formula, computed independently.
	sum := sha256.Sum256([]byte(expID + "/user-42"))
	assert.Equal(t, int(binary.BigEndian.Uint64(sum[:8])%1000), HashPerMille(expID, "user-42"))

	decide, err := ByHash(HeaderSubject("X-User-ID"), expID, 50)
	require.NoError(t, err)
	var exp int
	const n = 20000
	for i := range n {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-User-ID", "user-"+strconv.Itoa(i))
		c, err := decide(r)
		require.NoError(t, err)
		require.NotEqual(t, telemetry.CohortNone, c)
		if c == telemetry.CohortExperiment {
			exp++
			assert.Less(t, HashPerMille(expID, "user-"+strconv.Itoa(i)), 50)
		}
	}
	// 5% of 20000 = 1000, binomial sd about 31: 6 sd either way.
	assert.InDelta(t, 1000, exp, 190, "share of the experiment cohort")

	c, err := decide(httptest.NewRequest(http.MethodGet, "/", nil))
	require.NoError(t, err)
	assert.Equal(t, telemetry.CohortNone, c, "no subject, no cohort")
	_, err = ByHash(HeaderSubject("X"), expID, 1001)
	require.Error(t, err)
}

func TestByHeader(t *testing.T) {
	decide := ByHeader("X-Chaos-Cohort")
	for v, want := range map[string]telemetry.Cohort{
		"experiment": telemetry.CohortExperiment, "Control": telemetry.CohortControl, "": telemetry.CohortNone, "maybe": telemetry.CohortNone,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-Chaos-Cohort", v)
		c, err := decide(r)
		require.NoError(t, err)
		assert.Equal(t, want, c, "header %q", v)
	}
}

func TestByFlagRecordsEvaluation(t *testing.T) {
	tp, rec := newTracer(t)
	flags := FlagFunc{Name: "flagd", Eval: func(_ context.Context, key, subject string) (string, error) {
		if subject == "broken" {
			return "", errors.New("provider not ready")
		}
		if key == "payment-chaos" && subject == "alice" {
			return "on", nil
		}
		return "off", nil
	}}
	decide, err := ByFlag(flags, "payment-chaos", "on", HeaderSubject("X-User-ID"))
	require.NoError(t, err)
	for subject, want := range map[string]telemetry.Cohort{"alice": telemetry.CohortExperiment, "bob": telemetry.CohortControl} {
		ctx, span := tp.Tracer("t").Start(context.Background(), subject)
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
		r.Header.Set("X-User-ID", subject)
		c, err := decide(r)
		span.End()
		require.NoError(t, err)
		assert.Equal(t, want, c, subject)
	}
	spans := rec.Ended()
	require.Len(t, spans, 2)
	for _, s := range spans {
		a := attrs(s)
		assert.Equal(t, "payment-chaos", a[telemetry.AttrFeatureFlagKey])
		assert.Equal(t, "flagd", a[telemetry.AttrFeatureFlagProvider])
		want := map[string]string{"alice": "on", "bob": "off"}[s.Name()]
		assert.Equal(t, want, a[telemetry.AttrFeatureFlagVariant], s.Name())
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-User-ID", "broken")
	_, err = decide(r)
	require.ErrorContains(t, err, "evaluate flag payment-chaos: provider not ready")
}

// server runs h behind otelhttp (the server span) and the given injector.
func server(t *testing.T, tp trace.TracerProvider, in *Injector, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(otelhttp.NewHandler(in.Handler(h), "server",
		otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagator())))
	t.Cleanup(srv.Close)
	return srv
}

func propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

func get(t *testing.T, url, user string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("X-User-ID", user)
	return http.DefaultClient.Do(req)
}

func TestHandlerFaultsOnlyTheExperimentCohort(t *testing.T) {
	tp, rec := newTracer(t)
	in := mustNew(t, Config{ExperimentID: expID, Cohort: ByHeaderUser(), Fault: Fault{Status: 500}})
	var called atomic.Int32
	srv := server(t, tp, in, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called.Add(1)
		// The handler's own spans inherit the cohort through baggage.
		_, span := tp.Tracer("app").Start(r.Context(), "inner")
		span.End()
		_, _ = io.WriteString(w, "ok")
	}))

	resp, err := get(t, srv.URL, "control-user")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "control is never faulted")
	assert.EqualValues(t, 1, called.Load())

	resp, err = get(t, srv.URL, "exp-user")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Contains(t, string(body), "injected status 500 for experiment "+expID)
	assert.EqualValues(t, 1, called.Load(), "a faulted request never reaches the handler")

	resp, err = get(t, srv.URL, "")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	byCohort := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byCohort[attrs(s)[telemetry.AttrCohort]] = append(byCohort[attrs(s)[telemetry.AttrCohort]], s)
	}
	require.Len(t, byCohort["control"], 2, "server and inner span of the control request")
	for _, s := range byCohort["control"] {
		assert.Equal(t, expID, attrs(s)[telemetry.AttrExperimentID], s.Name())
		assert.NotContains(t, attrs(s), AttrFault)
	}
	require.Len(t, byCohort["experiment"], 1, "only the server span: the handler never ran")
	es := byCohort["experiment"][0]
	assert.Equal(t, "status", attrs(es)[AttrFault])
	assert.Equal(t, codes.Error, es.Status().Code)
	assert.Equal(t, "500", attrs(es)["http.response.status_code"])
	require.Len(t, byCohort[""], 2, "the request without a subject is not tagged")
}

// ByHeaderUser puts users whose id starts with "exp" in the experiment.
func ByHeaderUser() CohortFunc {
	return func(r *http.Request) (telemetry.Cohort, error) {
		switch u := r.Header.Get("X-User-ID"); {
		case u == "":
			return telemetry.CohortNone, nil
		case strings.HasPrefix(u, "exp"):
			return telemetry.CohortExperiment, nil
		default:
			return telemetry.CohortControl, nil
		}
	}
}

func TestHandlerFaultKinds(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	tp, _ := newTracer(t)

	t.Run("drop", func(t *testing.T) {
		srv := server(t, tp, mustNew(t, Config{ExperimentID: expID, Cohort: ByHeaderUser(), Fault: Fault{Drop: true}}), ok)
		_, err := get(t, srv.URL, "exp-1")
		require.Error(t, err, "the connection is closed without an answer")
		assert.ErrorIs(t, err, io.EOF)
	})
	t.Run("error", func(t *testing.T) {
		srv := server(t, tp, mustNew(t, Config{ExperimentID: expID, Cohort: ByHeaderUser(), Fault: Fault{Error: "payment backend exploded"}}), ok)
		resp, err := get(t, srv.URL, "exp-1")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		assert.Equal(t, "payment backend exploded\n", string(body))
	})
	t.Run("latency", func(t *testing.T) {
		srv := server(t, tp, mustNew(t, Config{ExperimentID: expID, Cohort: ByHeaderUser(), Fault: Fault{Latency: 150 * time.Millisecond}}), ok)
		for user, slow := range map[string]bool{"exp-1": true, "ctl-1": false} {
			start := time.Now()
			resp, err := get(t, srv.URL, user)
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			if slow {
				assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, user)
			} else {
				assert.Less(t, time.Since(start), 150*time.Millisecond, user)
			}
		}
	})
}

func TestFaultShare(t *testing.T) {
	in := mustNew(t, Config{ExperimentID: expID, Cohort: ByHeaderUser(), Fault: Fault{Status: 503}, FaultPerMille: 250})
	var n atomic.Uint64
	in.sample = func() uint64 { return n.Add(1) % 1000 } // every value of [0, 1000) once per 1000 draws
	faulted := 0
	for range 1000 {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-User-ID", "exp-7")
		d, err := in.Decide(r)
		require.NoError(t, err)
		require.Equal(t, telemetry.CohortExperiment, d.Cohort)
		if d.Fault {
			faulted++
		}
	}
	assert.Equal(t, 250, faulted, "exactly the configured share over a full cycle")

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-User-ID", "ctl-7")
	for range 100 {
		d, err := in.Decide(r)
		require.NoError(t, err)
		assert.False(t, d.Fault, "control never")
	}
}

func TestBaggageDecidesBeforeTheCohortFunc(t *testing.T) {
	in := mustNew(t, Config{ExperimentID: expID, Cohort: ByHeaderUser(), Fault: Fault{Status: 500}})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-User-ID", "ctl-1") // the func would say control
	r.Header.Set("baggage", "chaos.experiment.id="+expID+",chaos.experiment.cohort=experiment,other=1")
	d, err := in.Decide(r)
	require.NoError(t, err)
	assert.Equal(t, Decision{Cohort: telemetry.CohortExperiment, Fault: true, FromBaggage: true}, d)

	r.Header.Set("baggage", "chaos.experiment.id=another-exp,chaos.experiment.cohort=experiment")
	d, err = in.Decide(r)
	require.NoError(t, err)
	assert.Equal(t, Decision{}, d, "another experiment's request is left alone")

	r.Header.Set("baggage", "chaos.experiment.id="+expID+",chaos.experiment.cohort=sideways")
	d, err = in.Decide(r)
	require.NoError(t, err)
	assert.Equal(t, telemetry.CohortControl, d.Cohort, "invalid baggage is ignored; the func decides")
}

func TestTransportPropagatesAndFaults(t *testing.T) {
	var gotBaggage atomic.Value
	var hits atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		gotBaggage.Store(r.Header.Get("baggage"))
		_, _ = io.WriteString(w, "paid")
	}))
	t.Cleanup(backend.Close)
	ctxFor := func(cohort telemetry.Cohort) context.Context {
		m, _ := baggage.NewMemberRaw("tenant", "acme")
		b, _ := baggage.New(m)
		ctx, err := ContextWithCohort(baggage.ContextWithBaggage(context.Background(), b), expID, cohort)
		require.NoError(t, err)
		return ctx
	}
	call := func(c *http.Client, ctx context.Context) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, backend.URL, strings.NewReader("amount=5"))
		require.NoError(t, err)
		req.Header.Set("baggage", "caller=frontend")
		return c.Do(req)
	}

	t.Run("propagate only", func(t *testing.T) {
		c := &http.Client{Transport: mustNew(t, Config{ExperimentID: expID}).Transport(nil)}
		resp, err := call(c, ctxFor(telemetry.CohortControl))
		require.NoError(t, err)
		_ = resp.Body.Close()
		b, err := baggage.Parse(gotBaggage.Load().(string))
		require.NoError(t, err)
		assert.Equal(t, expID, b.Member(telemetry.AttrExperimentID).Value())
		assert.Equal(t, "control", b.Member(telemetry.AttrCohort).Value())
		assert.Equal(t, "acme", b.Member("tenant").Value(), "context members travel")
		assert.Equal(t, "frontend", b.Member("caller").Value(), "members already in the header are kept")
	})

	faults := []struct {
		name      string
		fault     Fault
		status    int
		errIs     error
		errText   string
		reachesIt bool
	}{
		{"status", Fault{Status: 500}, 500, nil, "", false},
		{"error", Fault{Error: "connection refused (injected)"}, 0, nil, "connection refused (injected)", false},
		{"drop", Fault{Drop: true}, 0, ErrDropped, "", true},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			tp, rec := newTracer(t)
			in := mustNew(t, Config{ExperimentID: expID, Fault: tt.fault})
			c := &http.Client{Transport: otelhttp.NewTransport(in.Transport(nil), otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagator()))}
			before := hits.Load()
			resp, err := call(c, ctxFor(telemetry.CohortExperiment))
			switch {
			case tt.status != 0:
				require.NoError(t, err)
				_ = resp.Body.Close()
				assert.Equal(t, tt.status, resp.StatusCode)
			case tt.errIs != nil:
				require.ErrorIs(t, err, tt.errIs)
			default:
				require.ErrorContains(t, err, tt.errText)
			}
			assert.Equal(t, tt.reachesIt, hits.Load() > before, "server reached")

			// Control passes through untouched.
			before = hits.Load()
			resp, err = call(c, ctxFor(telemetry.CohortControl))
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, before+1, hits.Load())

			spans := rec.Ended()
			require.Len(t, spans, 2)
			a := attrs(spans[0])
			assert.Equal(t, "experiment", a[telemetry.AttrCohort], "client span tagged from baggage")
			assert.Equal(t, tt.name, a[AttrFault])
			assert.Equal(t, "control", attrs(spans[1])[telemetry.AttrCohort])
			assert.NotContains(t, attrs(spans[1]), AttrFault)
		})
	}
}

// The cohort decided at the edge (by a flag) reaches the spans of a
// downstream service through baggage, and that service's fault applies to
// the experiment cohort only.
func TestPropagationAcrossServices(t *testing.T) {
	tp, rec := newTracer(t)
	downstream := server(t, tp, mustNew(t, Config{ExperimentID: expID, Fault: Fault{Status: 500}}),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, span := tp.Tracer("payment").Start(r.Context(), "charge card")
			span.End()
			_, _ = io.WriteString(w, "paid")
		}))
	flags := FlagFunc{Eval: func(_ context.Context, _, subject string) (string, error) {
		if strings.HasPrefix(subject, "exp") {
			return "on", nil
		}
		return "off", nil
	}}
	decide, err := ByFlag(flags, "payment-chaos", "on", HeaderSubject("X-User-ID"))
	require.NoError(t, err)
	edge := mustNew(t, Config{ExperimentID: expID, Cohort: decide})
	client := &http.Client{Transport: otelhttp.NewTransport(edge.Transport(nil), otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagator()))}
	frontend := server(t, tp, edge, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, downstream.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_ = resp.Body.Close()
		w.WriteHeader(resp.StatusCode) // a hard dependency: its failure is the page's
	}))

	for user, want := range map[string]int{"exp-1": 500, "ctl-1": 200} {
		resp, err := get(t, frontend.URL, user)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, user)
	}
	seen := map[string]map[string]int{}
	for _, s := range rec.Ended() {
		a := attrs(s)
		require.Equal(t, expID, a[telemetry.AttrExperimentID], "every span of both services is tagged: %s", s.Name())
		if seen[a[telemetry.AttrCohort]] == nil {
			seen[a[telemetry.AttrCohort]] = map[string]int{}
		}
		seen[a[telemetry.AttrCohort]][s.SpanKind().String()]++
	}
	// control: frontend server, client, payment server, charge card;
	// experiment: the same without charge card (payment faulted).
	assert.Equal(t, map[string]int{"server": 2, "client": 1, "internal": 1}, seen["control"])
	assert.Equal(t, map[string]int{"server": 2, "client": 1}, seen["experiment"])
}

func TestBaggageSpanProcessor(t *testing.T) {
	tp, rec := newTracer(t)
	mk := func(kv ...string) context.Context {
		var ms []baggage.Member
		for i := 0; i < len(kv); i += 2 {
			m, err := baggage.NewMemberRaw(kv[i], kv[i+1])
			require.NoError(t, err)
			ms = append(ms, m)
		}
		b, err := baggage.New(ms...)
		require.NoError(t, err)
		return baggage.ContextWithBaggage(context.Background(), b)
	}
	cases := map[string]context.Context{
		"pair":      mk(telemetry.AttrExperimentID, expID, telemetry.AttrCohort, "experiment", telemetry.AttrSynthetic, "true", "user", "x"),
		"half":      mk(telemetry.AttrExperimentID, expID),
		"bad":       mk(telemetry.AttrExperimentID, expID, telemetry.AttrCohort, "maybe"),
		"none":      context.Background(),
		"overwrite": mk(telemetry.AttrExperimentID, expID, telemetry.AttrCohort, "control"),
	}
	for name, ctx := range cases {
		_, span := tp.Tracer("t").Start(ctx, name)
		if name == "overwrite" {
			span.SetAttributes(attribute.String(telemetry.AttrCohort, "experiment"))
		}
		span.End()
	}
	got := map[string]map[string]string{}
	for _, s := range rec.Ended() {
		got[s.Name()] = attrs(s)
	}
	assert.Equal(t, map[string]string{telemetry.AttrExperimentID: expID, telemetry.AttrCohort: "experiment", telemetry.AttrSynthetic: "true"}, got["pair"])
	assert.Empty(t, got["half"], "one of the pair alone is not copied: ingest would reject the span")
	assert.Empty(t, got["bad"])
	assert.Empty(t, got["none"])
	assert.Equal(t, "experiment", got["overwrite"][telemetry.AttrCohort], "the code's own attributes win")
}
