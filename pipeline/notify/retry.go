package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/steadystate/steadystate/pipeline/wait"
)

// RetryConfig bounds the retries of one delivery.
type RetryConfig struct {
	// MaxAttempts is the number of tries, the first included. Default: 5.
	MaxAttempts int
	// Initial and Max bound the backoff between tries (doubled each time,
	// with jitter). Default: 200ms and 5s. A Retry-After answer overrides
	// the backoff, up to Max.
	Initial, Max time.Duration
}

// NewDefaultRetryConfig returns the defaults.
func NewDefaultRetryConfig() RetryConfig {
	return RetryConfig{MaxAttempts: 5, Initial: 200 * time.Millisecond, Max: 5 * time.Second}
}

func (c RetryConfig) withDefaults() RetryConfig {
	d := NewDefaultRetryConfig()
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.Initial <= 0 {
		c.Initial = d.Initial
	}
	if c.Max < c.Initial {
		c.Max = max(d.Max, c.Initial)
	}
	return c
}

// StatusError is a non-2xx answer.
type StatusError struct {
	URL        string
	StatusCode int
	Body       string
	// RetryAfter is the server's Retry-After, 0 if none.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("POST %s: HTTP %d: %s", e.URL, e.StatusCode, e.Body)
}

// Temporary reports whether trying again may succeed (5xx, 429, 408).
func (e *StatusError) Temporary() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusRequestTimeout
}

// post sends one JSON body and turns a non-2xx answer into *StatusError.
func post(ctx context.Context, client *http.Client, url string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytesReader(body))
	if err != nil {
		return fmt.Errorf("build request for %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "steadystate-notify")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return &StatusError{URL: url, StatusCode: resp.StatusCode, Body: string(msg), RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// retry calls fn until it succeeds, fails permanently, runs out of
// attempts, or ctx ends.
func retry(ctx context.Context, cfg RetryConfig, fn func(context.Context) error) error {
	cfg = cfg.withDefaults()
	delay := cfg.Initial
	var err error
	for attempt := 1; ; attempt++ {
		if err = fn(ctx); err == nil {
			return nil
		}
		var se *StatusError
		if errors.As(err, &se) && !se.Temporary() {
			return err
		}
		if attempt >= cfg.MaxAttempts {
			return fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		pause := wait.Jitter(delay)
		if se != nil && se.RetryAfter > 0 {
			pause = min(se.RetryAfter, cfg.Max)
		}
		if !wait.Sleep(ctx, pause) {
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		}
		delay = min(delay*2, cfg.Max)
	}
}
