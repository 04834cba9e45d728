// Package amtest starts a real Prometheus Alertmanager for tests and
// benchmarks: Debian's prometheus-alertmanager (installed by `make up`), or
// the binary named by $STEADYSTATE_ALERTMANAGER, on a free loopback port
// with a temporary config and storage directory, clustering off. A missing
// binary fails the test: integration tests never skip.
package amtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// EnvBinary overrides the Alertmanager binary.
const EnvBinary = "STEADYSTATE_ALERTMANAGER"

// Binary returns the Alertmanager binary to run.
func Binary() (string, error) {
	if v := os.Getenv(EnvBinary); v != "" {
		return v, nil
	}
	for _, name := range []string{"/usr/bin/prometheus-alertmanager", "prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Alertmanager binary: install Debian's prometheus-alertmanager (`make up` does) or set " + EnvBinary)
}

// Version returns the binary's version, e.g. "0.25.0".
func Version(bin string) string {
	out, _ := exec.Command(bin, "--version").CombinedOutput()
	if m := regexp.MustCompile(`version (\S+)`).FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return "unknown"
}

// Server is a running Alertmanager.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:40123.
	URL     string
	Version string
	cmd     *exec.Cmd
	logs    *bytes.Buffer
	mu      sync.Mutex
}

const config = `route:
  receiver: "null"
  group_wait: 1s
receivers:
  - name: "null"
`

// Start runs Alertmanager until the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := StartDir(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// StartDir runs Alertmanager with its config and storage under dir; Stop
// ends it.
func StartDir(dir string) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		return nil, fmt.Errorf("write alertmanager config: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s := &Server{URL: "http://" + addr, Version: Version(bin), logs: &bytes.Buffer{}}
	s.cmd = exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	s.cmd.Stdout, s.cmd.Stderr = s, s
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
	}
	s.Stop()
	return nil, fmt.Errorf("alertmanager did not become ready on %s:\n%s", addr, s.Logs())
}

func (s *Server) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(b)
}

// Logs returns what Alertmanager printed.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// Stop kills Alertmanager and waits for it.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// Alert is an alert as GET /api/v2/alerts returns it.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

// Alerts returns the alerts Alertmanager holds (resolved ones are not
// listed).
func (s *Server) Alerts(ctx context.Context) ([]Alert, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v2/alerts", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET alerts: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET alerts: HTTP %d", resp.StatusCode)
	}
	var out []Alert
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("decode alerts: %w", err)
	}
	return out, nil
}

// Find returns the alerts whose labels include all of match.
func Find(alerts []Alert, match map[string]string) []Alert {
	var out []Alert
	for _, a := range alerts {
		ok := true
		for k, v := range match {
			if a.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, a)
		}
	}
	return out
}
