// Package synth starts synthetic items of a business flow on a schedule,
// so the flow check can tell an idle flow from a broken one: in emit mode
// it posts each stage's event (marked chaos.synthetic=true) to ingest's
// POST /v1/events; in http mode it calls the real system, which carries
// the item through the stages itself.
package synth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/pipeline/wait"
)

// Config says what synthetic items to start and how.
type Config struct {
	// Mode is "emit" (post the stage events to ingest) or "http" (call
	// the real system's Endpoint).
	Mode string
	// Ingest is ingest's base URL (emit mode); Token its bearer token.
	Ingest, Token string
	// Endpoint is the real system's URL, "{key}" replaced by the item key
	// (http mode).
	Endpoint string
	// DropStage is left out of every item, so items get stuck there.
	DropStage string
	// StageGap is the time between an item's stage events.
	StageGap time.Duration
	// Every is how often an item starts; Count stops after that many (0:
	// until ctx is done).
	Every time.Duration
	Count int
}

// UsageError is a bad setting, named by its flag (the command exits 2 on
// it: UsageError marks it).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// UsageError marks the error as a usage error.
func (e *UsageError) UsageError() {}

func usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Validate checks the settings before anything runs: a positive Every, a
// StageGap and Count that are not negative, and per Mode its URL (an
// absolute http(s) Ingest for emit, Endpoint for http) and no setting of
// the other mode. A bad one is a *UsageError naming its flag.
func (c Config) Validate() error {
	switch {
	case c.Every <= 0:
		return usagef("--every %s: must be positive", c.Every)
	case c.StageGap < 0:
		return usagef("--stage-gap %s: must not be negative", c.StageGap)
	case c.Count < 0:
		return usagef("--count %d: must not be negative", c.Count)
	}
	switch c.Mode {
	case "emit":
		if c.Endpoint != "" {
			return usagef("--endpoint is for --mode http")
		}
		if err := checkURL(c.Ingest); err != nil {
			return usagef("--ingest: %w", err)
		}
	case "http":
		if c.DropStage != "" {
			return usagef("--drop-stage is for --mode emit (in http mode the real system emits the stages)")
		}
		if err := checkURL(strings.ReplaceAll(c.Endpoint, "{key}", "k")); err != nil {
			return usagef("--endpoint: %w", err)
		}
	default:
		return usagef("--mode %q: want emit or http", c.Mode)
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: want an absolute http:// or https:// URL", s)
	}
	return nil
}

// synthesizer starts synthetic items of one flow.
type synthesizer struct {
	opts   Config
	flow   *experiment.Flow
	log    *slog.Logger
	client *http.Client
	token  string
	prefix string
	seq    atomic.Int64
}

// Run starts an item of fl every cfg.Every until ctx is done or cfg.Count
// items started, then lets the items under way finish (at most 10 s; a
// half-emitted synthetic item would look stuck). It fails only when every
// item failed. client nil is a client with a 10 s timeout. A DropStage
// fl does not have is a *UsageError.
func Run(ctx context.Context, cfg Config, fl *experiment.Flow, client *http.Client, log *slog.Logger) error {
	if cfg.DropStage != "" && fl.StageIndex(cfg.DropStage) < 0 {
		return usagef("--drop-stage %q: flow %s has no such stage", cfg.DropStage, fl.Name)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	s := &synthesizer{opts: cfg, flow: fl, log: log, client: client, token: cfg.Token, prefix: "synth-" + hex.EncodeToString(b[:])}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	opts := cfg
	// Items under way finish after a stop (a half-emitted synthetic item
	// would look stuck), bounded by a timeout.
	itemCtx, cancelItems := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelItems()
	var wg sync.WaitGroup
	var failed atomic.Int64
	log.Info("synthetic traffic", "flow", fl.Name, "mode", opts.Mode, "every", opts.Every, "drop_stage", opts.DropStage)
	tick := time.NewTicker(opts.Every)
	defer tick.Stop()
	started := 0
	for opts.Count == 0 || started < opts.Count {
		key := fmt.Sprintf("%s-%d", s.prefix, s.seq.Add(1))
		started++
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.item(itemCtx, key); err != nil {
				failed.Add(1)
				log.Warn("synthetic item failed", "key", key, "err", err)
				return
			}
			log.Debug("synthetic item started", "key", key)
		}()
		if opts.Count != 0 && started >= opts.Count {
			break
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
			continue
		}
		break
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cancelItems()
		<-done
	}
	log.Info("synthetic traffic stopped", "items", started, "failed", failed.Load())
	if n := failed.Load(); n > 0 && int(n) == started {
		return fmt.Errorf("all %d synthetic items failed", n)
	}
	return nil
}

// item starts one synthetic item.
func (s *synthesizer) item(ctx context.Context, key string) error {
	if s.opts.Mode == "http" {
		return s.callEndpoint(ctx, key)
	}
	first := true
	for i := range s.flow.Stages {
		st := &s.flow.Stages[i]
		if st.Name == s.opts.DropStage {
			continue
		}
		if !first && !wait.Sleep(ctx, s.opts.StageGap) {
			return ctx.Err()
		}
		first = false
		if err := s.emit(ctx, key, st); err != nil {
			return fmt.Errorf("stage %s: %w", st.Name, err)
		}
	}
	return nil
}

// StageEvent is the JSON event synth posts for one stage.
func (s *synthesizer) stageEvent(key string, st *experiment.Stage, now time.Time) map[string]any {
	attrs := map[string]string{s.flow.Key: key}
	for k, v := range st.Attributes {
		attrs[k] = v
	}
	service := st.Service
	if service == "" {
		service = "steadystate-synth"
	}
	return map[string]any{
		"time": now.UTC().Format(time.RFC3339Nano), "service": service, "name": st.Name,
		"flow": s.flow.Name, "flow_key": key, "stage": st.Name, "synthetic": true, "attributes": attrs,
	}
}

func (s *synthesizer) emit(ctx context.Context, key string, st *experiment.Stage) error {
	body, err := json.Marshal(s.stageEvent(key, st, time.Now()))
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	u := strings.TrimSuffix(s.opts.Ingest, "/") + "/v1/events"
	h := http.Header{}
	if s.token != "" {
		h.Set("Authorization", "Bearer "+s.token)
	}
	return s.post(ctx, u, body, h)
}

func (s *synthesizer) callEndpoint(ctx context.Context, key string) error {
	u := strings.ReplaceAll(s.opts.Endpoint, "{key}", url.QueryEscape(key))
	body, err := json.Marshal(map[string]any{"flow": s.flow.Name, "key": key, s.flow.Key: key, "synthetic": true})
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	h := http.Header{}
	h.Set("Baggage", telemetry.AttrSynthetic+"=true,"+telemetry.AttrFlowKey+"="+url.QueryEscape(key))
	h.Set("X-Steadystate-Synthetic", "true")
	return s.post(ctx, u, body, h)
}

// post sends body, retrying 429, 503 and network errors a few times.
func (s *synthesizer) post(ctx context.Context, u string, body []byte, h http.Header) error {
	delay := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := s.postOnce(ctx, u, body, h)
		var perm *permanentError
		if err == nil || errors.As(err, &perm) || attempt == 5 {
			return err
		}
		s.log.Debug("post failed; retrying", "url", u, "err", err, "retry_in", delay)
		if !wait.Sleep(ctx, delay) {
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		}
		delay *= 2
	}
}

type permanentError struct{ error }

func (s *synthesizer) postOnce(ctx context.Context, u string, body []byte, h http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return &permanentError{fmt.Errorf("build request: %w", err)}
	}
	req.Header = h.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", u, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("POST %s: HTTP %d: %s", u, resp.StatusCode, strings.TrimSpace(string(msg)))
	default:
		return &permanentError{fmt.Errorf("POST %s: HTTP %d: %s", u, resp.StatusCode, strings.TrimSpace(string(msg)))}
	}
}
