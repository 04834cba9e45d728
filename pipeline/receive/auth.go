package receive

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Tokens holds the accepted bearer tokens: fixed ones from the config plus
// those in a file (one per line, # comments), re-read when the file changes.
// Tokens are never logged.
type Tokens struct {
	fixed [][]byte
	file  string
	log   *slog.Logger

	cur     atomic.Pointer[[][]byte]
	modTime time.Time
	size    int64

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// NewTokens builds a token set. With no tokens and no file, auth is off.
func NewTokens(fixed []string, file string, log *slog.Logger) (*Tokens, error) {
	t := &Tokens{file: file, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	for _, f := range fixed {
		if f = strings.TrimSpace(f); f != "" {
			t.fixed = append(t.fixed, []byte(f))
		}
	}
	if err := t.reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// Enabled says whether requests must carry a token.
func (t *Tokens) Enabled() bool { return t != nil && (len(t.fixed) > 0 || t.file != "") }

// Start watches the token file for changes until Stop.
func (t *Tokens) Start() {
	if t.file == "" {
		close(t.done)
		return
	}
	go func() {
		defer close(t.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
				if err := t.reload(); err != nil {
					t.log.Warn("token file not reloaded; keeping the previous tokens", "file", t.file, "err", err)
				}
			}
		}
	}()
}

// Stop ends the watcher. Safe to call twice, and without Start.
func (t *Tokens) Stop() {
	t.stopOnce.Do(func() { close(t.stop) })
}

func (t *Tokens) reload() error {
	all := append([][]byte(nil), t.fixed...)
	if t.file != "" {
		st, err := os.Stat(t.file)
		if err != nil {
			return fmt.Errorf("token file: %w", err)
		}
		if t.cur.Load() != nil && st.ModTime().Equal(t.modTime) && st.Size() == t.size {
			return nil
		}
		data, err := os.ReadFile(t.file)
		if err != nil {
			return fmt.Errorf("token file: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			all = append(all, []byte(line))
		}
		t.modTime, t.size = st.ModTime(), st.Size()
		if t.cur.Load() != nil {
			t.log.Info("token file reloaded", "file", t.file, "tokens", len(all))
		}
	}
	t.cur.Store(&all)
	return nil
}

var (
	errNoToken  = errors.New("missing bearer token")
	errBadToken = errors.New("invalid bearer token")
)

// Check validates an Authorization header value. Every token is compared
// in constant time, and all of them are always compared.
func (t *Tokens) Check(header string) error {
	if !t.Enabled() {
		return nil
	}
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return errNoToken
	}
	given := []byte(strings.TrimSpace(tok))
	match := 0
	for _, want := range *t.cur.Load() {
		match |= subtle.ConstantTimeCompare(given, want)
	}
	if match != 1 {
		return errBadToken
	}
	return nil
}

// authExtension adapts Tokens to the collector's extensionauth.Server, so
// the embedded OTLP receiver checks tokens on gRPC and HTTP itself.
type authExtension struct{ tokens *Tokens }

func (a authExtension) Start(context.Context, component.Host) error { return nil }
func (a authExtension) Shutdown(context.Context) error              { return nil }

func (a authExtension) Authenticate(ctx context.Context, headers map[string][]string) (context.Context, error) {
	for _, k := range []string{"authorization", "Authorization"} {
		if v := headers[k]; len(v) > 0 {
			return ctx, a.tokens.Check(v[0])
		}
	}
	return ctx, a.tokens.Check("")
}
