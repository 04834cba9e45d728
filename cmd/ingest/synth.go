package main

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
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/pipeline/wait"
)

// EnvSynthToken is the bearer token synth sends to ingest in emit mode.
const EnvSynthToken = "STEADYSTATE_INGEST_TOKEN"

type synthOptions struct {
	f           *factory
	Flow        string
	Experiments string
	Every       time.Duration
	Mode        string
	Ingest      string
	Endpoint    string
	DropStage   string
	StageGap    time.Duration
	Count       int
	LogLevel    string
	Client      *http.Client
}

func newCmdSynth(f *factory, runF func(*synthOptions) error) *cobra.Command {
	opts := &synthOptions{f: f}
	cmd := &cobra.Command{
		Use:   "synth",
		Short: "Start synthetic items of a flow on a schedule, to tell an idle flow from a dead one",
		Long: `synth starts one synthetic item of a flow every --every, so the flow check
can tell "no publishes on a quiet Sunday" (idle) from "publishing is
broken" (broken). Every synthetic item is marked chaos.synthetic=true: the
flow check counts it apart, and cohort comparisons and business counts
never include it.

--mode emit (demo and tests) posts the stage events itself, one per stage,
--stage-gap apart, to ingest's POST /v1/events at --ingest, with the flow,
the item key (in the field the flow's key names, and as flow_key), the stage
and each stage's service and attributes from the definition. --drop-stage
leaves one stage out, so the items get stuck there (to test the alerts).

--mode http calls the real system instead: a POST to --endpoint with
{"flow", "key", "<the flow's key field>", "synthetic": true}, the headers
"baggage: chaos.synthetic=true,flow.key=<key>" and
"X-Steadystate-Synthetic: true"; "{key}" in the URL is replaced by the key.
The system's own telemetry then carries the item through the stages.

The flow comes from the definitions in --experiments. SIGINT or SIGTERM
stops starting items and lets those under way finish (at most 10 s).
A bearer token for ingest is read from $STEADYSTATE_INGEST_TOKEN.`,
		Example: `  ingest synth --flow publish --every 1m --experiments experiments/examples
  ingest synth --flow publish --every 10s --drop-stage cache.purged
  ingest synth --flow publish --mode http --endpoint 'https://cms.internal/republish?id={key}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return synthRun(cmd.Context(), opts)
		},
	}
	defDir := os.Getenv("STEADYSTATE_EXPERIMENTS")
	if defDir == "" {
		defDir = "experiments"
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Flow, "flow", "", "the flow to exercise (required)")
	fl.StringVar(&opts.Experiments, "experiments", defDir, "directory of experiment and flow definitions ($STEADYSTATE_EXPERIMENTS)")
	fl.DurationVar(&opts.Every, "every", time.Minute, "start one synthetic item this often")
	fl.StringVar(&opts.Mode, "mode", "emit", "emit (post the stage events to ingest) or http (call --endpoint)")
	fl.StringVar(&opts.Ingest, "ingest", "http://127.0.0.1:4318", "ingest's HTTP base URL (emit mode)")
	fl.StringVar(&opts.Endpoint, "endpoint", "", "URL to POST to for each item (http mode); {key} is replaced by the item key")
	fl.StringVar(&opts.DropStage, "drop-stage", "", "emit mode: leave this stage out, so items get stuck before it")
	fl.DurationVar(&opts.StageGap, "stage-gap", 100*time.Millisecond, "emit mode: time between an item's stage events")
	fl.IntVar(&opts.Count, "count", 0, "stop after this many items (0: run until stopped)")
	fl.StringVar(&opts.LogLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func (o *synthOptions) validate() error {
	switch {
	case o.Flow == "":
		return cliutil.FlagErrorf("--flow is required")
	case o.Every <= 0:
		return cliutil.FlagErrorf("--every %s: must be positive", o.Every)
	case o.StageGap < 0:
		return cliutil.FlagErrorf("--stage-gap %s: must not be negative", o.StageGap)
	case o.Count < 0:
		return cliutil.FlagErrorf("--count %d: must not be negative", o.Count)
	}
	switch o.Mode {
	case "emit":
		if o.Endpoint != "" {
			return cliutil.FlagErrorf("--endpoint is for --mode http")
		}
		if err := checkURL(o.Ingest); err != nil {
			return cliutil.FlagErrorf("--ingest: %v", err)
		}
	case "http":
		if o.DropStage != "" {
			return cliutil.FlagErrorf("--drop-stage is for --mode emit (in http mode the real system emits the stages)")
		}
		if err := checkURL(strings.ReplaceAll(o.Endpoint, "{key}", "k")); err != nil {
			return cliutil.FlagErrorf("--endpoint: %v", err)
		}
	default:
		return cliutil.FlagErrorf("--mode %q: want emit or http", o.Mode)
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
	opts   *synthOptions
	flow   *experiment.Flow
	log    *slog.Logger
	client *http.Client
	token  string
	prefix string
	seq    atomic.Int64
}

func synthRun(ctx context.Context, opts *synthOptions) error {
	log, err := cliutil.NewLogger(opts.f.IO.ErrOut, opts.LogLevel)
	if err != nil {
		return err
	}
	spec, err := experiment.LoadDir(opts.Experiments)
	if err != nil {
		return err
	}
	fl, ok := spec.Flow(opts.Flow)
	if !ok {
		return cliutil.FlagErrorf("--flow %q: not defined in %s", opts.Flow, opts.Experiments)
	}
	if opts.DropStage != "" && fl.StageIndex(opts.DropStage) < 0 {
		return cliutil.FlagErrorf("--drop-stage %q: flow %s has no such stage", opts.DropStage, fl.Name)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	s := &synthesizer{opts: opts, flow: fl, log: log, client: opts.Client, token: os.Getenv(EnvSynthToken), prefix: "synth-" + hex.EncodeToString(b[:])}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
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
