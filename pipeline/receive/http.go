package receive

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// PartialError reports records a converter refused while it converted the
// rest; Err names each refused record.
type PartialError struct {
	Rejected int
	Err      error
}

func (e *PartialError) Error() string { return e.Err.Error() }
func (e *PartialError) Unwrap() error { return e.Err }

var errTooLarge = errors.New("request body too large")

// limit enforces bearer tokens and the body cap on the public HTTP port.
func (r *Receiver) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := r.tokens.Check(req.Header.Get("Authorization")); err != nil {
			r.m.requests.WithLabelValues("http", "unauthorized").Inc()
			w.Header().Set("WWW-Authenticate", `Bearer realm="steadystate"`)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if req.ContentLength > r.cfg.MaxRequestBytes {
			r.m.requests.WithLabelValues("http", "too_large").Inc()
			http.Error(w, fmt.Sprintf("request body of %d bytes exceeds the limit of %d", req.ContentLength, r.cfg.MaxRequestBytes), http.StatusRequestEntityTooLarge)
			return
		}
		req.Body = http.MaxBytesReader(w, req.Body, r.cfg.MaxRequestBytes)
		next.ServeHTTP(w, req)
	})
}

// decompressor opens a reader for a Content-Encoding ("" for none).
func (r *Receiver) decompressor(enc string, src io.Reader) (io.ReadCloser, error) {
	switch enc {
	case "", "identity":
		return io.NopCloser(src), nil
	case "gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		return zr, nil
	case "zstd":
		zr, err := zstd.NewReader(src, zstd.WithDecoderMaxMemory(uint64(r.cfg.MaxRequestBytes)), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd body: %w", err)
		}
		return zr.IOReadCloser(), nil
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q: use gzip, zstd or none", enc)
	}
}

func encoding(req *http.Request) string {
	return strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding")))
}

// checkCompressed buffers a compressed body and measures its decompressed
// size without keeping the output, so a decompression bomb is refused
// before anything the size of its output is allocated.
func (r *Receiver) checkCompressed(req *http.Request) ([]byte, int64, error) {
	compressed, err := io.ReadAll(req.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, 0, errTooLarge
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read body: %w", err)
	}
	zr, err := r.decompressor(encoding(req), bytes.NewReader(compressed))
	if err != nil {
		return nil, 0, err
	}
	defer zr.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(zr, r.cfg.MaxRequestBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("decompress body: %w", err)
	}
	if n > r.cfg.MaxRequestBytes {
		return nil, 0, errTooLarge
	}
	return compressed, n, nil
}

// bodies are request body buffers handed back by the events endpoint
// (putBody) once nothing uses the request's events any more.
var bodies sync.Pool // *[]byte

// maxPooledBody keeps unusually large bodies' buffers out of the pool.
const maxPooledBody = 4 << 20

// getBody returns an empty buffer of at least n bytes' capacity, from the
// pool when one there is large enough.
func getBody(n int64) []byte {
	if p, ok := bodies.Get().(*[]byte); ok {
		if int64(cap(*p)) >= n {
			return (*p)[:0]
		}
		bodies.Put(p)
	}
	return make([]byte, 0, n)
}

// putBody hands a body's buffer back for later requests. The caller
// guarantees nothing reads it any more: the events converted from it were
// published and recycled.
func putBody(b []byte) {
	if cap(b) == 0 || cap(b) > maxPooledBody {
		return
	}
	bodies.Put(&b)
}

// readBody reads a (possibly compressed) body, capped after decompression,
// into a buffer from getBody (only what the decompressed body needs).
func (r *Receiver) readBody(req *http.Request) ([]byte, error) {
	if enc := encoding(req); enc == "" || enc == "identity" {
		var dst []byte
		if req.ContentLength > 0 {
			dst = getBody(req.ContentLength + 1) // +1: reading EOF needs no growth
		}
		data, err := readAllInto(dst, req.Body, req.ContentLength)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		return data, nil
	}
	compressed, size, err := r.checkCompressed(req)
	if err != nil {
		return nil, err
	}
	zr, err := r.decompressor(encoding(req), bytes.NewReader(compressed))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	data := getBody(size)[:size]
	if _, err := io.ReadFull(zr, data); err != nil {
		return nil, fmt.Errorf("decompress body: %w", err)
	}
	return data, nil
}

// readAll is io.ReadAll into one buffer of the declared length (the cap
// already checked it), instead of growing from 512 bytes by copies: about
// ten reallocations and twice the body copied for a typical request.
func readAll(body io.Reader, declared int64) ([]byte, error) {
	return readAllInto(nil, body, declared)
}

// readAllInto is readAll into dst's array when it holds the declared
// length and one byte more.
func readAllInto(dst []byte, body io.Reader, declared int64) ([]byte, error) {
	if declared <= 0 {
		return io.ReadAll(body)
	}
	buf := dst[:0]
	if int64(cap(buf)) < declared+1 {
		buf = make([]byte, 0, declared+1) // +1: reading EOF needs no growth
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // more than declared: grow as ReadAll does
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// guardCompressed refuses compressed OTLP bodies whose decompressed size
// is over the cap before they reach the embedded receiver.
func (r *Receiver) guardCompressed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if enc := encoding(req); enc == "" || enc == "identity" {
			next.ServeHTTP(w, req)
			return
		}
		compressed, _, err := r.checkCompressed(req)
		if err != nil {
			code := http.StatusBadRequest
			if errors.Is(err, errTooLarge) {
				code = http.StatusRequestEntityTooLarge
			}
			r.m.requests.WithLabelValues("otlp_http", "rejected").Inc()
			http.Error(w, err.Error(), code)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(compressed))
		req.ContentLength = int64(len(compressed))
		next.ServeHTTP(w, req)
	})
}

type eventsResponse struct {
	Accepted int    `json:"accepted"`
	Rejected int    `json:"rejected"`
	Errors   string `json:"errors,omitempty"`
}

// handleEvents serves POST /v1/events: one JSON object, an array, or NDJSON.
// Valid records are published even when others are refused; the answer
// names the refused lines. 200 means every accepted record is in Kafka.
func (r *Receiver) handleEvents(w http.ResponseWriter, req *http.Request) {
	var recycle func([]telemetry.Event)
	if rc, ok := r.conv.(Recycler); ok {
		recycle = rc.Recycle
	}
	r.handleJSON(w, req, "json_events", "events", r.conv.JSONEvents, recycle)
}

// handleJSON is the shared path of the JSON endpoints: read the body under
// the decompressed-size cap, convert it (a PartialError keeps the valid
// records and names the others), publish what was accepted and answer 200
// only once Kafka acknowledged all of it; 503 with Retry-After otherwise.
// source labels the metrics; what names the records in messages; recycle,
// if not nil (a Recycler converter), is handed the events once Publish
// returned, and the body's buffer then serves a later request.
func (r *Receiver) handleJSON(w http.ResponseWriter, req *http.Request, source, what string,
	convert func([]byte) ([]telemetry.Event, error), recycle func([]telemetry.Event)) {
	body, err := r.readBody(req)
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, errTooLarge) {
			code = http.StatusRequestEntityTooLarge
			err = fmt.Errorf("%w: limit is %d bytes after decompression", err, r.cfg.MaxRequestBytes)
		}
		r.m.requests.WithLabelValues(source, "rejected").Inc()
		http.Error(w, err.Error(), code)
		return
	}
	events, convErr := convert(body)
	resp := eventsResponse{Accepted: len(events)}
	if convErr != nil {
		var pe *PartialError
		if errors.As(convErr, &pe) {
			resp.Rejected = pe.Rejected
		} else {
			resp.Rejected = 1
		}
		resp.Errors = convErr.Error()
	}
	if len(events) == 0 {
		r.m.requests.WithLabelValues(source, "rejected").Inc()
		if resp.Errors == "" {
			resp.Errors = "no " + what + " in the request body"
		}
		writeJSON(w, http.StatusBadRequest, resp)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), r.cfg.RequestTimeout)
	defer cancel()
	err = r.next.Publish(ctx, events)
	n := len(events)
	if recycle != nil {
		// Nothing uses the events or the body they point into any more:
		// Publish returned, franz-go is done with every record, and the
		// trace cache keeps copies.
		recycle(events)
		putBody(body)
	}
	if err != nil {
		r.m.requests.WithLabelValues(source, "unavailable").Inc()
		r.log.Warn("publish failed; answering 503", "source", source, "events", n, "err", err)
		w.Header().Set("Retry-After", "1")
		http.Error(w, what+" not durable yet, retry", http.StatusServiceUnavailable)
		return
	}
	r.m.requests.WithLabelValues(source, "ok").Inc()
	r.m.events.WithLabelValues(source).Add(float64(n))
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
