//go:build integration

package main_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/steadystate/steadystate/internal/testkit/freeport"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/pipeline/store"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	return freeport.Addr(t)
}

type serveProc struct {
	cmd        *exec.Cmd
	http, grpc string
	logs       *bytes.Buffer
	mu         sync.Mutex
}

func startServe(t *testing.T, brokers, topic string, env ...string) *serveProc {
	t.Helper()
	p := &serveProc{http: freeAddr(t), grpc: freeAddr(t), logs: &bytes.Buffer{}}
	p.cmd = exec.Command(ingestBin, "serve", "--http", p.http, "--grpc", p.grpc, "--admin", freeAddr(t), "--topic", topic, "--partitions", "3")
	p.cmd.Env = append(append(os.Environ(), kafkatest.EnvBrokers+"="+brokers), env...)
	p.cmd.Stderr = &lockedWriter{w: p.logs, mu: &p.mu}
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", p.http); err == nil {
			_ = c.Close()
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("ingest serve did not listen on %s:\n%s", p.http, p.Logs())
	return nil
}

func (p *serveProc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

func (p *serveProc) rssKiB(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func post(t *testing.T, url, token, encoding string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if strings.HasSuffix(url, "/v1/traces") {
		req.Header.Set("Content-Type", "application/x-protobuf")
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeAuthAndLimits(t *testing.T) {
	t.Parallel()
	topic := kafkatest.Topic(t, 3)
	p := startServe(t, strings.Join(kafkatest.Brokers(), ","), topic, "STEADYSTATE_INGEST_TOKENS=alpha-token,beta-token")
	url := "http://" + p.http + "/v1/events"
	ev := []byte(`{"service":"checkout","name":"GET /checkout","experiment_id":"exp-1","cohort":"experiment"}`)

	for name, tok := range map[string]string{"none": "", "empty": "Bearer ", "wrong": "Bearer gamma", "not bearer": "Basic YWxwaGE6"} {
		code, _ := post(t, url, tok, "", ev)
		assert.Equal(t, http.StatusUnauthorized, code, name)
	}
	code, body := post(t, url, "Bearer beta-token", "", ev)
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"accepted":1`)

	// OTLP over gRPC checks the same tokens.
	conn, err := grpc.NewClient(p.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("GET /checkout")
	sp.SetTraceID([16]byte{1, 2, 3})
	sp.SetSpanID([8]byte{4, 5, 6})
	ctx := context.Background()
	_, err = client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "no token over gRPC")
	_, err = client.Export(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer alpha-token"), ptraceotlp.NewExportRequestFromTraces(td))
	require.NoError(t, err)

	// A gzip bomb (256 MiB of zeros) and a plain oversize body: 413, and
	// the server's memory does not grow by 64 MiB.
	before := p.rssKiB(t)
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 256; i++ {
		_, _ = zw.Write(zeros)
	}
	require.NoError(t, zw.Close())
	code, body = post(t, url, "Bearer alpha-token", "gzip", bomb.Bytes())
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, body)
	code, _ = post(t, url, "Bearer alpha-token", "", bytes.Repeat([]byte("x"), 21<<20))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	code, _ = post(t, "http://"+p.http+"/v1/traces", "Bearer alpha-token", "gzip", bomb.Bytes())
	assert.Contains(t, []int{http.StatusRequestEntityTooLarge, http.StatusBadRequest}, code, "OTLP/HTTP bomb refused")
	after := p.rssKiB(t)
	t.Logf("RSS before %d KiB, after the bombs %d KiB", before, after)
	assert.Less(t, after-before, 64<<10, "memory growth stays under 64 MiB")

	// Ids with quotes, NUL, CRLF and 10 KB strings are refused with 400.
	for name, id := range map[string]string{"quote": `exp'1`, "nul": "exp\u00001", "crlf": "exp\r\n1", "10KB": strings.Repeat("a", 10_000)} {
		rec, _ := json.Marshal(map[string]string{"service": "checkout", "name": "x", "experiment_id": id, "cohort": "experiment"})
		code, body := post(t, url, "Bearer alpha-token", "", rec)
		assert.Equal(t, http.StatusBadRequest, code, "%s: %s", name, body)
		rec, _ = json.Marshal(map[string]string{"service": "checkout", "name": "x", "event_id": id})
		code, body = post(t, url, "Bearer alpha-token", "", rec)
		assert.Equal(t, http.StatusBadRequest, code, "event id %s: %s", name, body)
	}
	bad := ptrace.NewTraces()
	td.CopyTo(bad)
	bad.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("chaos.experiment.id", "x'; DROP TABLE events; --")
	_, err = client.Export(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer alpha-token"), ptraceotlp.NewExportRequestFromTraces(bad))
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "bad experiment id over OTLP")
}

// Kafka stopped for 30 s mid-run: ingest answers 503 (never 200, never
// 500) while it cannot write, and every request answered 200 is stored
// exactly once.
func TestServeDuringKafkaOutage(t *testing.T) {
	t.Parallel()
	broker := kafkatest.StartBroker(t)
	c := chtest.Open(t)
	topic := "steadystate.events.outage"
	p := startServe(t, broker.Addr, topic)
	url := "http://" + p.http + "/v1/events"

	var (
		mu       sync.Mutex
		okIDs    []string
		statuses = map[int]int{}
		stop     atomic.Bool
		seq      atomic.Int64
		wg       sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Timeout: 20 * time.Second}
			for !stop.Load() {
				var body bytes.Buffer
				var ids []string
				for i := 0; i < 50; i++ {
					id := fmt.Sprintf("out-%07d", seq.Add(1))
					ids = append(ids, id)
					fmt.Fprintf(&body, `{"event_id":%q,"service":"checkout","name":"op","experiment_id":"outage","cohort":"control"}`+"\n", id)
				}
				resp, err := hc.Post(url, "application/x-ndjson", &body)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				if resp.StatusCode == http.StatusOK {
					okIDs = append(okIDs, ids...)
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(3 * time.Second)
	broker.Stop()
	mu.Lock()
	okAtStop := len(okIDs)
	mu.Unlock()
	time.Sleep(30 * time.Second)
	broker.Start()
	time.Sleep(10 * time.Second)
	stop.Store(true)
	wg.Wait()
	t.Logf("responses by status: %v; %d events acknowledged (%d before the stop)", statuses, len(okIDs), okAtStop)
	assert.Positive(t, statuses[http.StatusServiceUnavailable], "503 while Kafka is down")
	assert.Zero(t, statuses[http.StatusInternalServerError], "never 500")
	for code := range statuses {
		assert.Contains(t, []int{200, 429, 503}, code)
	}
	assert.Greater(t, len(okIDs), okAtStop, "recovered after Kafka came back")

	// Sink the private broker's topic and check every acknowledged event.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.Command(ingestBin, "sink", "--topic", topic, "--group", "outage-sink", "--admin", freeAddr(t), "--max-age", "200ms")
	cmd.Env = append(os.Environ(), kafkatest.EnvBrokers+"="+broker.Addr, store.EnvDatabase+"="+c.DB)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	want := map[string]bool{}
	for _, id := range okIDs {
		want[id] = true
	}
	missing := len(want)
	for ctx.Err() == nil && missing > 0 {
		rows, err := c.Conn.Query(ctx, fmt.Sprintf("SELECT DISTINCT event_id FROM %s.events WHERE experiment_id = 'outage'", c.DB))
		require.NoError(t, err)
		missing = len(want)
		for rows.Next() {
			var id string
			require.NoError(t, rows.Scan(&id))
			if want[id] {
				missing--
			}
		}
		rows.Close()
		if missing > 0 {
			time.Sleep(500 * time.Millisecond)
		}
	}
	assert.Zero(t, missing, "every request answered 200 is stored")
	var distinct, raw uint64
	require.NoError(t, c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT uniqExact(event_id), count() FROM %s.events FINAL WHERE experiment_id = 'outage'", c.DB)).Scan(&distinct, &raw))
	assert.Equal(t, distinct, raw, "stored exactly once after FINAL")
}
