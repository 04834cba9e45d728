//go:build integration

package main_test

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
	"strings"
	"testing"
	"time"

	"github.com/steadystate/steadystate/internal/testkit/freeport"

	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/internal/testkit/proctest"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/store"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := proctest.Build("analyze", "ingest")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a child process (internal/testkit/proctest).
type proc = proctest.Proc

func startProc(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	return proctest.Start(t, env, filepath.Join(binDir, name), args...)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	return freeport.Addr(t)
}

// stack is ingest serve + ingest sink on a fresh topic, consumer group
// and ClickHouse database, with flow definitions in a temp directory.
type stack struct {
	t        *testing.T
	db       *store.Client
	topic    string
	group    string
	defs     string
	ingest   string // http://addr
	env      []string
	serve    *proc
	sink     *proc
	sinkArgs []string
}

const testFlows = `flows:
  - name: publish
    key: publish_id
    stages: [publish.received, content.transformed, content.stored, cache.purged]
    within: %s
    severity: page
    owner: team-content
    runbook_url: https://runbooks.example.com/publish-stuck
%s`

func newStack(t *testing.T, within time.Duration, extra string) *stack {
	t.Helper()
	s := &stack{t: t, db: chtest.Open(t), topic: kafkatest.Topic(t, 3), defs: t.TempDir()}
	s.group = "g-" + strings.TrimPrefix(s.db.DB, "t_")
	require.NoError(t, os.WriteFile(filepath.Join(s.defs, "flows.yaml"), fmt.Appendf(nil, testFlows, within, extra), 0o600))
	s.env = []string{store.EnvDatabase + "=" + s.db.DB, "STEADYSTATE_EXPERIMENTS=" + s.defs}
	httpAddr := freeAddr(t)
	s.ingest = "http://" + httpAddr
	s.serve = startProc(t, s.env, "ingest", "serve", "--http", httpAddr, "--grpc", freeAddr(t), "--admin", freeAddr(t),
		"--topic", s.topic, "--partitions", "3", "--experiments", s.defs)
	s.sinkArgs = []string{"sink", "--topic", s.topic, "--group", s.group, "--admin", freeAddr(t), "--max-age", "200ms"}
	s.sink = startProc(t, s.env, "ingest", s.sinkArgs...)
	s.sink.WaitLog(t, "sink running", 60*time.Second)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", httpAddr); err == nil {
			_ = c.Close()
			break
		}
		require.True(t, time.Now().Before(deadline), "ingest serve did not listen:\n%s", s.serve.Logs())
	}
	return s
}

// event is one JSON event of the publish flow.
type event struct {
	Time         string `json:"time"`
	Service      string `json:"service"`
	Name         string `json:"name"`
	PublishID    string `json:"publish_id"`
	ExperimentID string `json:"experiment_id,omitempty"`
	Cohort       string `json:"cohort,omitempty"`
}

var publishStages = []string{"publish.received", "content.transformed", "content.stored", "cache.purged"}

func stageEvent(key string, stage int, at time.Time) event {
	return event{Time: at.UTC().Format(time.RFC3339Nano), Service: "publisher", Name: publishStages[stage], PublishID: key}
}

// send posts events as NDJSON to ingest; the flow, key and stage are
// derived by ingest from the definitions (the event name and publish_id).
func (s *stack) send(events ...event) {
	s.t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, e := range events {
		require.NoError(s.t, enc.Encode(e))
	}
	for attempt := 0; ; attempt++ {
		resp, err := http.Post(s.ingest+"/v1/events", "application/x-ndjson", bytes.NewReader(b.Bytes()))
		require.NoError(s.t, err)
		var body struct {
			Accepted, Rejected int
			Errors             string
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && attempt < 20 {
			time.Sleep(250 * time.Millisecond)
			continue
		}
		require.Equal(s.t, http.StatusOK, resp.StatusCode, body.Errors)
		require.Equal(s.t, len(events), body.Accepted, body.Errors)
		return
	}
}

// check runs `analyze flows check --output json` and decodes the report.
func (s *stack) check(args ...string) (*flows.Report, int) {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "analyze"), append([]string{"flows", "check", "--output", "json", "--consumer-group", s.group, "--since", "15m"}, args...)...)
	cmd.Env = append(os.Environ(), s.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(s.t, err)
	}
	require.Contains(s.t, []int{0, 3}, code, "analyze flows check failed:\n%s", stderr.String())
	var rep flows.Report
	require.NoError(s.t, json.Unmarshal(out, &rep), "output:\n%s", out)
	return &rep, code
}

// checkUntil repeats the check until cond holds.
func (s *stack) checkUntil(within time.Duration, what string, cond func(*flows.Report) bool) *flows.Report {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		rep, _ := s.check()
		if cond(rep) {
			return rep
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(rep, "", "  ")
			s.t.Fatalf("not %s within %s; last report:\n%s", what, within, proctest.Tail(string(b), 6000))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func judgedAfter(t time.Time) func(*flows.Report) bool {
	return func(r *flows.Report) bool { return r.Pipeline.Watermark != nil && r.Pipeline.Watermark.After(t) }
}

var bg = context.Background()
