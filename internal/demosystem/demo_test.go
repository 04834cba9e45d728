package demosystem

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/steadystate/steadystate/chaoshttp"
	"github.com/steadystate/steadystate/pipeline/receive"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// recorder keeps every exported span; Shutdown keeps them too.
type recorder struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (r *recorder) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spans = append(r.spans, s...)
	return nil
}
func (r *recorder) Shutdown(context.Context) error { return nil }

type span struct {
	service, name string
	attrs         map[string]string
}

// count is how many spans named name were exported so far.
func (r *recorder) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.spans {
		if s.Name() == name {
			n++
		}
	}
	return n
}

func (r *recorder) all() []span {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]span, 0, len(r.spans))
	for _, s := range r.spans {
		a := map[string]string{}
		for _, kv := range s.Attributes() {
			a[string(kv.Key)] = kv.Value.String()
		}
		svc, _ := s.Resource().Set().Value(telemetry.AttrServiceName)
		out = append(out, span{service: svc.AsString(), name: s.Name(), attrs: a})
	}
	return out
}

func TestSystemBreaksOnlyTheExperimentCohort(t *testing.T) {
	var mu sync.Mutex
	var hooks []receive.AlertmanagerPayload
	alerted := make(chan struct{})
	var fireOnce sync.Once
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var h receive.AlertmanagerPayload
		b, _ := io.ReadAll(r.Body)
		// What ingest's receiver parses, with Alertmanager's fingerprint.
		if _, err := receive.ParseAlertmanager(b, time.Now()); assert.NoError(t, err) && json.Unmarshal(b, &h) == nil {
			assert.Equal(t, receive.LabelsFingerprint(h.Alerts[0].Labels), h.Alerts[0].Fingerprint)
			mu.Lock()
			hooks = append(hooks, h)
			mu.Unlock()
			if h.Alerts[0].Labels["alertname"] == "PaymentDependencyErrors" && h.Status == "firing" {
				fireOnce.Do(func() { close(alerted) })
			}
		}
	}))
	defer am.Close()

	rec := &recorder{}
	cfg := NewDefaultConfig()
	cfg.Exporter, cfg.Admin, cfg.AlertWebhook = rec, "", am.URL
	cfg.CheckoutRate, cfg.Users, cfg.PublishRate, cfg.SyntheticEvery = 200, 200, 50, 200*time.Millisecond
	cfg.Chaos, cfg.AlertEvery = true, 300*time.Millisecond
	// Traffic until the payment alert fired and the page rule has judged
	// (more than MinPagesJudged page loads recorded, so its silence below
	// is a claim, not a given), at least 3 s, at most 60 s (under the race
	// detector on a loaded machine the pages come far slower than asked).
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() {
		defer cancel()
		time.Sleep(3 * time.Second)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		fired, wait := false, alerted
		for !fired || rec.count("GET /checkout") <= MinPagesJudged+100 {
			select {
			case <-wait:
				fired, wait = true, nil
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	st, err := Run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Logf("%+v", st)
	require.Positive(t, st.PagesExperiment)
	require.Greater(t, st.Pages, int64(MinPagesJudged)+100, "enough page loads that the page rule judged them")
	assert.Equal(t, st.PagesExperiment, st.PagesExperimentFailed, "the whole page fails for the experiment cohort")
	assert.Equal(t, st.PagesExperiment, st.PagesFailed, "and only for it")

	pages := map[string]map[string]int{} // cohort -> status -> n
	stages := map[string]map[string]bool{}
	cohortOf := map[string]string{}
	syntheticStages := 0
	for _, s := range rec.all() {
		assert.Equal(t, ExperimentID, s.attrs[telemetry.AttrExperimentID], "%s/%s is tagged", s.service, s.name)
		c := s.attrs[telemetry.AttrCohort]
		if s.name == "GET /checkout" {
			if pages[c] == nil {
				pages[c] = map[string]int{}
			}
			pages[c][s.attrs["http.response.status_code"]]++
			assert.Equal(t, map[string]string{"experiment": "on", "control": "off"}[c], s.attrs[telemetry.AttrFeatureFlagVariant], "flag variant recorded")
		}
		if id := s.attrs[FlowKeyAttr]; id != "" {
			if stages[id] == nil {
				stages[id] = map[string]bool{}
			}
			stages[id][s.name] = true
			cohortOf[id] = c
			if s.attrs[telemetry.AttrSynthetic] == "true" {
				syntheticStages++
			}
		}
	}
	assert.Equal(t, []string{"500"}, keys(pages["experiment"]), "experiment pages all fail")
	assert.Equal(t, []string{"200"}, keys(pages["control"]), "control pages all render")
	lost, complete := 0, 0
	for id, got := range stages {
		if !got["publish.received"] {
			continue // started before the window of this test's spans
		}
		if cohortOf[id] == "experiment" {
			assert.Equal(t, map[string]bool{"publish.received": true, "content.transformed": true}, got, "experiment item %s stops at the gateway", id)
			lost++
		} else if got["content.transformed"] {
			assert.True(t, got["cache.purged"], "control item %s completes", id)
			complete++
		}
	}
	assert.Positive(t, complete)
	assert.Positive(t, lost, "some experiment-cohort publishes are lost")
	assert.Positive(t, syntheticStages, "synthetic publishes mark every stage")

	mu.Lock()
	defer mu.Unlock()
	fired := map[string][]string{}
	for _, h := range hooks {
		fired[h.Alerts[0].Labels["alertname"]] = append(fired[h.Alerts[0].Labels["alertname"]], h.Status)
	}
	assert.Equal(t, []string{"firing", "resolved"}, fired["PaymentDependencyErrors"])
	assert.NotContains(t, fired, "CheckoutErrorRateHigh", "a 5% cohort cannot reach the 10% page threshold")
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRules(t *testing.T) {
	byName := map[string]Rule{}
	for _, r := range Rules {
		byName[r.Name] = r
	}
	page := byName["CheckoutErrorRateHigh"]
	// Every page of a 5% cohort fails: 5% of all traffic.
	assert.False(t, page.Fires(Counts{Pages: 1200, PagesFailed: 60}))
	assert.True(t, page.Fires(Counts{Pages: 1200, PagesFailed: 121}))
	assert.False(t, page.Fires(Counts{Pages: MinPagesJudged - 1, PagesFailed: MinPagesJudged - 1}), "too little traffic to judge")
	assert.True(t, page.Fires(Counts{Pages: MinPagesJudged, PagesFailed: MinPagesJudged/10 + 1}))
	ticket := byName["PaymentDependencyErrors"]
	assert.True(t, ticket.Fires(Counts{PaymentErrors: 5}))
	assert.False(t, ticket.Fires(Counts{PaymentErrors: 4}))
}

func TestFlagsFollowTheCohortShare(t *testing.T) {
	s := &System{cfg: Config{CohortPerMille: 50}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f := s.flags()
	v, err := f.Evaluate(context.Background(), FlagKey, "user-1")
	require.NoError(t, err)
	assert.Equal(t, "off", v, "off for everyone until chaos is switched on")
	s.SetChaos(true)
	on := 0
	for i := range 4000 {
		user := "user-" + strconv.Itoa(i)
		v, err := f.Evaluate(context.Background(), FlagKey, user)
		require.NoError(t, err)
		if v == "on" {
			on++
			assert.Less(t, chaoshttp.HashPerMille(FlagKey, user), 50)
		}
	}
	assert.InDelta(t, 200, on, 60, "about 5% of users")
	_, err = f.Evaluate(context.Background(), "other", "user-1")
	require.Error(t, err)
}
