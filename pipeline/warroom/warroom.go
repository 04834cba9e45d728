// Package warroom serves the game day's shared screen: one page with the
// SLI table and verdicts, per-cohort error-rate and latency charts with the
// run shaded, the stop banner, the flows and their stuck items and the
// expected alerts, pushed to every open page by server-sent events at each
// live look. The page (HTML, CSS and JavaScript, charts as inline SVG) is
// embedded: nothing is fetched from elsewhere.
package warroom

import (
	"context"
	"crypto/subtle"
	_ "embed" // the page
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/listen"
)

//go:embed page.html
var page []byte

// Snapshot is what the page shows after one look.
type Snapshot struct {
	// Seq numbers the snapshots of one server, from 1.
	Seq int64 `json:"seq"`
	// Result is the live comparison (the same as a live JSON line).
	Result *analysis.Result `json:"result"`
	// Series is the SLI's traffic per cohort and 10-second bucket, from
	// before the run until now.
	Series []SeriesPoint `json:"series"`
	// Flows is the check of the experiment's flows (nil without flows).
	Flows *flows.Report `json:"flows,omitempty"`
	// Alerts are the expected alerts and whether each fired.
	Alerts []AlertStatus `json:"alerts"`
	// IntervalSeconds is the live interval.
	IntervalSeconds float64 `json:"interval_seconds"`
	// Problems lists parts that could not be read at this look.
	Problems []string `json:"problems,omitempty"`
}

// SeriesPoint is one bucket of one cohort.
type SeriesPoint struct {
	Time   time.Time `json:"time"`
	Cohort string    `json:"cohort"`
	Events int64     `json:"events"`
	Errors int64     `json:"errors"`
	P99ms  float64   `json:"p99_ms"`
}

// AlertStatus is one expected alert.
type AlertStatus struct {
	Name          string     `json:"name"`
	Severity      string     `json:"severity,omitempty"`
	WithinSeconds float64    `json:"within_seconds,omitempty"`
	Fired         bool       `json:"fired"`
	FiredAt       *time.Time `json:"fired_at,omitempty"`
}

// Config is where and how the page is served.
type Config struct {
	// Addr is the listen address, e.g. 127.0.0.1:8088.
	Addr string
	// Token, when set, must come with every request: as a bearer token
	// or as ?token= (the page passes its own on to the event stream).
	Token string
	// Insecure allows a non-loopback address without a token (the
	// command's --insecure-listen, like every other listener's).
	Insecure bool
}

// Validate applies the rule every Steadystate listener follows
// (listen.Check): a loopback address, or a token, or the explicit
// insecure opt-in. It only checks.
func (c Config) Validate() error {
	return listen.Check(listen.Listener{Name: "war room (analyze live --web)", Flag: "--web", Addr: c.Addr,
		Authenticated: c.Token != "", TokenHint: "set a token with --web-token"}, c.Insecure)
}

// Server pushes snapshots to every open page. Publish may be called from
// any goroutine.
type Server struct {
	cfg Config
	ln  net.Listener
	srv *http.Server

	mu   sync.Mutex
	seq  int64
	last []byte
	subs map[chan []byte]struct{}
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// New checks cfg and builds a server; Start listens.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, subs: map[chan []byte]struct{}{}, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.auth(s.servePage))
	mux.HandleFunc("GET /events", s.auth(s.serveEvents))
	mux.HandleFunc("GET /snapshot", s.auth(s.serveSnapshot))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("web view: listen: %w", err)
	}
	s.ln = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.srv.Serve(ln) // ends with ErrServerClosed at Shutdown
	}()
	return nil
}

// URL is the page's address (with the token when one is set).
func (s *Server) URL() string {
	addr := s.cfg.Addr
	if s.ln != nil {
		addr = s.ln.Addr().String()
	}
	u := "http://" + addr + "/"
	if s.cfg.Token != "" {
		u += "?token=" + s.cfg.Token
	}
	return u
}

// Publish numbers snap and sends it to every open page; a page that is
// too slow to take it misses it and gets the next one.
func (s *Server) Publish(snap *Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	snap.Seq = s.seq
	b, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("web view: encode snapshot: %w", err)
	}
	s.last = b
	for ch := range s.subs {
		select {
		case ch <- b:
		default:
		}
	}
	return nil
}

// Shutdown closes the event streams and stops the server. Safe without
// Start and twice.
func (s *Server) Shutdown(ctx context.Context) error {
	s.once.Do(func() { close(s.done) })
	if s.ln == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	s.wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	if s.cfg.Token == "" {
		return next
	}
	want := []byte("Bearer " + s.cfg.Token)
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if q := r.URL.Query().Get("token"); q != "" {
			got = []byte("Bearer " + q)
		}
		if subtle.ConstantTimeCompare(got, want) != 1 {
			http.Error(w, "missing or wrong token: open the URL analyze printed (it carries ?token=)", http.StatusUnauthorized)
			return
		}
		next(w, r)
	}
}

func (s *Server) servePage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:")
	_, _ = w.Write(page)
}

func (s *Server) serveSnapshot(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	b := s.last
	s.mu.Unlock()
	if b == nil {
		http.Error(w, "no look yet", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// serveEvents streams every snapshot as an SSE "message", starting with
// the latest, until the page goes away or the server stops.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch := make(chan []byte, 4)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	last := s.last
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	if last != nil {
		writeEvent(w, last)
	}
	fl.Flush()
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case b := <-ch:
			writeEvent(w, b)
			fl.Flush()
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}

func writeEvent(w http.ResponseWriter, b []byte) {
	fmt.Fprintf(w, "data: %s\n\n", b) // JSON has no raw newlines
}
