package cliutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewLogger is the one logger setup of the long-running commands (ingest
// serve, sink, synth; analyze watch): text lines on w at level, which is
// debug, info, warn or error; anything else is a usage error.
func NewLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, FlagErrorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// NewRegistry is a Prometheus registry with the Go runtime and process
// collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// AdminOptions say what the admin server serves besides /healthz.
type AdminOptions struct {
	// Registry is served on /metrics.
	Registry *prometheus.Registry
	// Ready answers /readyz (its dependencies answer); nil serves no
	// /readyz.
	Ready func(context.Context) error
	// Pprof also serves the runtime profiles under /debug/pprof/ (CPU,
	// heap, allocs, goroutines), for profiling a running process.
	Pprof bool
	// Handlers are served as well, keyed by pattern ("GET /flows").
	Handlers map[string]http.Handler
}

// Admin is the admin HTTP server every long-running command shares:
// /healthz (the process runs), /readyz, /metrics (Prometheus text format)
// and the command's own pages. The address is loopback by default.
type Admin struct {
	srv *http.Server
	ln  net.Listener
}

// StartAdmin listens on addr and serves in the background; errors after
// the start are logged.
func StartAdmin(addr string, opts AdminOptions, log *slog.Logger) (*Admin, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	if opts.Ready != nil {
		mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := opts.Ready(ctx); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ready\n"))
		})
	}
	if opts.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{}))
	}
	if opts.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	for pattern, h := range opts.Handlers {
		mux.Handle(pattern, h)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	a := &Admin{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin server", "err", err)
		}
	}()
	return a, nil
}

// Addr is the address the server listens on; "" for a nil *Admin.
func (a *Admin) Addr() string {
	if a == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// Stop shuts the server down, waiting at most timeout for requests in
// flight; a nil *Admin does nothing.
func (a *Admin) Stop(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = a.Shutdown(ctx)
}

// Shutdown stops the server gracefully; a nil *Admin does nothing.
func (a *Admin) Shutdown(ctx context.Context) error {
	if a == nil {
		return nil
	}
	return a.srv.Shutdown(ctx)
}
