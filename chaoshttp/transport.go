package chaoshttp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ErrDropped is returned (wrapped) by the transport for a dropped answer.
var ErrDropped = errors.New("chaoshttp: injected fault: answer dropped")

// Transport wraps base (http.DefaultTransport when nil): every outgoing
// request carries the chaos.* baggage of its context in the W3C baggage
// header; the cohort is decided as in Handler (baggage, then
// Config.Cohort on the outgoing request) and stamped on the active span,
// such as the client span of an otelhttp transport wrapped around this
// one; the faulted share of the experiment cohort gets the configured
// fault instead of, or after, the real call.
func (in *Injector) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{in: in, base: base}
}

type transport struct {
	in   *Injector
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	d, err := t.in.decide(ctx, req)
	if err != nil {
		d.Cohort, d.Fault = 0, false // fail open: the call goes out untagged
	}
	ctx = t.in.tag(ctx, d)
	out := req.Clone(ctx) // RoundTrippers must not modify the caller's request
	injectBaggage(ctx, out.Header)
	if !d.Fault {
		return t.base.RoundTrip(out)
	}
	f := t.in.cfg.Fault
	if err := sleep(ctx, f.Latency); err != nil {
		closeBody(out)
		return nil, err
	}
	switch {
	case f.Error != "":
		t.in.markFault(ctx, 0)
		closeBody(out)
		return nil, fmt.Errorf("chaoshttp: injected fault: %s", f.Error)
	case f.Status != 0:
		t.in.markFault(ctx, f.Status)
		closeBody(out)
		body := fmt.Sprintf("chaoshttp: injected status %d for experiment %s", f.Status, t.in.cfg.ExperimentID)
		return &http.Response{
			Status:        fmt.Sprintf("%d %s", f.Status, http.StatusText(f.Status)),
			StatusCode:    f.Status,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
			Body:          io.NopCloser(bytes.NewBufferString(body)),
			ContentLength: int64(len(body)),
			Request:       out,
		}, nil
	case f.Drop:
		resp, err := t.base.RoundTrip(out)
		if err != nil {
			return nil, err
		}
		_ = resp.Body.Close()
		t.in.markFault(ctx, 0)
		return nil, fmt.Errorf("%s %s: %w", out.Method, out.URL.Redacted(), ErrDropped)
	default: // latency only
		t.in.markFault(ctx, 0)
		return t.base.RoundTrip(out)
	}
}

// closeBody closes a request body the transport will not send, as the
// RoundTripper contract requires.
func closeBody(r *http.Request) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
}
