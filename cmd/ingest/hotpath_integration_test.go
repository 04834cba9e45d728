//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steadystate/steadystate/internal/testkit/freeport"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/pipeline/produce"
	"github.com/steadystate/steadystate/pipeline/receive"
	"github.com/steadystate/steadystate/pipeline/sink"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/tag"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

func loopbackAddr(t *testing.T) string {
	t.Helper()
	return freeport.Addr(t)
}

// lockedBuffer is a log destination two goroutines may write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testIO(log io.Writer) *cliutil.IOStreams {
	return &cliutil.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: log}
}

// TestHotPathInProcessUnderLoad runs ingest serve and ingest sink in this
// process (so `make test`'s -race instruments them) against the real
// Kafka and ClickHouse: OTLP/HTTP, OTLP/gRPC and JSON-event senders post
// concurrently while the sink consumes concurrently; every event answered
// 200 / OK is stored exactly once, both stop cleanly on cancel, and no
// goroutine of theirs outlives the shutdown (goleak).
func TestHotPathInProcessUnderLoad(t *testing.T) {
	// Registered first, so it runs after the other cleanups closed the
	// test's own ClickHouse client and topic.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	t.Setenv("GOGC", "100") // sinkRun leaves the process's GC setting alone
	topic := kafkatest.Topic(t, 3)
	st := chtest.Open(t)
	t.Setenv(store.EnvDatabase, st.DB)
	exp := "hotpath-exp"

	serveLog, sinkLog := &lockedBuffer{}, &lockedBuffer{}
	so := &serveOptions{f: &factory{IO: testIO(serveLog)}, Receive: receive.NewDefaultConfig(), Produce: produce.NewDefaultConfig(),
		Admin: cliutil.AdminFlags{Addr: loopbackAddr(t), LogLevel: "warn"}, TraceCache: tag.DefaultTraceCacheSize, TraceTTL: tag.DefaultTraceCacheTTL}
	so.Receive.HTTPEndpoint, so.Receive.GRPCEndpoint = loopbackAddr(t), loopbackAddr(t)
	so.Produce.Topic, so.Produce.Partitions = topic, 3
	ko := &sinkOptions{f: &factory{IO: testIO(sinkLog)}, Sink: sink.NewDefaultConfig(), Admin: cliutil.AdminFlags{Addr: loopbackAddr(t), LogLevel: "warn"}}
	ko.Sink.Topic, ko.Sink.Group, ko.Sink.MaxAge = topic, "hotpath-"+st.DB, 100*time.Millisecond

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serveErr, sinkErr := make(chan error, 1), make(chan error, 1)
	go func() { serveErr <- serveRun(ctx, so) }()
	go func() { sinkErr <- sinkRun(ctx, ko) }()
	waitListening(t, so.Receive.HTTPEndpoint, serveErr, serveLog)
	waitListening(t, so.Receive.GRPCEndpoint, serveErr, serveLog)

	const (
		senders  = 6 // of each kind
		requests = 15
		perReq   = 20
	)
	conn, err := grpc.NewClient(so.Receive.GRPCEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	grpcClient := ptraceotlp.NewGRPCClient(conn)
	httpClient := &http.Client{Timeout: 30 * time.Second}
	defer httpClient.CloseIdleConnections()

	var wg sync.WaitGroup
	errs := make(chan error, 3*senders*requests)
	for s := 0; s < senders; s++ {
		for kind := 0; kind < 3; kind++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := 0; r < requests; r++ {
					seq := (kind*senders+s)*requests + r
					if err := sendOne(ctx, kind, seq, perReq, exp, so.Receive.HTTPEndpoint, httpClient, grpcClient); err != nil {
						errs <- fmt.Errorf("sender %d kind %d request %d: %w", s, kind, r, err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.False(t, t.Failed(), "serve log:\n%s", serveLog.String())

	want := uint64(3 * senders * requests * perReq)
	var distinct, raw uint64
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		require.NoError(t, st.Conn.QueryRow(ctx, "SELECT uniqExact(event_id), count() FROM "+st.DB+".events WHERE experiment_id = '"+exp+"'").Scan(&distinct, &raw))
		if distinct >= want {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	require.Equal(t, want, distinct, "every acknowledged event stored; sink log:\n%s", sinkLog.String())
	require.Equal(t, want, raw, "stored once (no redelivery without a failure)")

	cancel()
	for name, ch := range map[string]chan error{"serve": serveErr, "sink": sinkErr} {
		select {
		case err := <-ch:
			require.NoError(t, err, "%s stops cleanly", name)
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not stop within 30s of cancel", name)
		}
	}
	conn.Close()
	httpClient.CloseIdleConnections()
}

func waitListening(t *testing.T, addr string, errc chan error, log *lockedBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-errc:
			t.Fatalf("serve stopped before listening on %s: %v\n%s", addr, err, log.String())
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("serve did not listen on %s:\n%s", addr, log.String())
}

// traces builds n spans of one request with distinct trace ids.
func traces(seq, n int, exp string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < n; i++ {
		sp := spans.AppendEmpty()
		sp.SetName("GET /checkout")
		var tid [16]byte
		binary.BigEndian.PutUint64(tid[:8], uint64(seq)+1)
		binary.BigEndian.PutUint64(tid[8:], uint64(i)+1)
		sp.SetTraceID(tid)
		sp.SetSpanID([8]byte{1, 2, 3, 4, 5, 6, 7, 8})
		now := time.Now()
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Millisecond)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
		sp.Attributes().PutStr(telemetry.AttrExperimentID, exp)
		sp.Attributes().PutStr(telemetry.AttrCohort, []string{"control", "experiment"}[i%2])
	}
	return td
}

// sendOne sends one request of n events: kind 0 OTLP/HTTP protobuf,
// 1 OTLP/gRPC, 2 JSON events (NDJSON).
func sendOne(ctx context.Context, kind, seq, n int, exp, httpAddr string, hc *http.Client, gc ptraceotlp.GRPCClient) error {
	switch kind {
	case 1:
		_, err := gc.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(seq, n, exp)))
		return err
	case 0:
		body, err := ptraceotlp.NewExportRequestFromTraces(traces(seq, n, exp)).MarshalProto()
		if err != nil {
			return err
		}
		return postOK(ctx, hc, "http://"+httpAddr+"/v1/traces", "application/x-protobuf", body)
	default:
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, `{"service":"checkout","name":"order.placed","event_id":"json-%d-%d","experiment_id":%q,"cohort":"control"}`+"\n", seq, i, exp)
		}
		return postOK(ctx, hc, "http://"+httpAddr+"/v1/events", "application/x-ndjson", []byte(b.String()))
	}
}

func postOK(ctx context.Context, hc *http.Client, url, contentType string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, b)
	}
	return nil
}
