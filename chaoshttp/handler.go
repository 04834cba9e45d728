package chaoshttp

import (
	"fmt"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Handler wraps next: it decides the cohort of each request, tags the
// request's span and context, and answers the configured fault instead of
// calling next for the faulted share of the experiment cohort.
func (in *Injector) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		d, err := in.decide(ctx, r)
		if err != nil {
			trace.SpanFromContext(ctx).AddEvent("chaoshttp.cohort_error",
				trace.WithAttributes(attribute.String("error.message", err.Error())))
			next.ServeHTTP(w, r)
			return
		}
		ctx = in.tag(ctx, d)
		r = r.WithContext(ctx)
		if !d.Fault {
			next.ServeHTTP(w, r)
			return
		}
		f := in.cfg.Fault
		if err := sleep(ctx, f.Latency); err != nil {
			return // the client went away during the injected latency
		}
		switch {
		case f.Drop:
			in.markFault(ctx, 0)
			drop(w)
		case f.Status != 0 || f.Error != "":
			status := f.Status
			if status == 0 {
				status = http.StatusInternalServerError
			}
			in.markFault(ctx, status)
			msg := f.Error
			if msg == "" {
				msg = fmt.Sprintf("chaoshttp: injected status %d for experiment %s", status, in.cfg.ExperimentID)
			}
			http.Error(w, msg, status)
		default: // latency only
			in.markFault(ctx, 0)
			next.ServeHTTP(w, r)
		}
	})
}

// drop closes the connection without an answer. Where the writer cannot be
// hijacked (HTTP/2), aborting the handler resets the stream instead.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
