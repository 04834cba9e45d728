package receive

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// TestShutdownLeavesNoGoroutines starts the receiver (with a token file,
// whose watcher is a goroutine of its own), serves concurrent OTLP/HTTP,
// OTLP/gRPC and JSON requests, shuts down twice, and checks with goleak
// that nothing it started still runs. A receiver shut down without Start
// and one whose Start failed halfway (its HTTP port taken) leave nothing
// either.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	tokens := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("s3cret\n"), 0o600))
	cfg := NewDefaultConfig()
	cfg.GRPCEndpoint, cfg.HTTPEndpoint, cfg.TokenFile = freeAddr(t), freeAddr(t), tokens
	r, err := New(cfg, Settings{}, nopConv{}, nopPub{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, r.Start(ctx))

	conn, err := grpc.NewClient(cfg.GRPCEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	client := ptraceotlp.NewGRPCClient(conn)
	hc := &http.Client{Transport: &http.Transport{}}
	body, err := ptraceotlp.NewExportRequestFromTraces(ptrace.NewTraces()).MarshalProto()
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				for _, p := range []struct{ path, ct string }{{"/v1/traces", "application/x-protobuf"}, {"/v1/events", "application/json"}} {
					req, _ := http.NewRequest(http.MethodPost, "http://"+r.HTTPAddr()+p.path, bytes.NewReader(body))
					req.Header.Set("Content-Type", p.ct)
					req.Header.Set("Authorization", "Bearer s3cret")
					resp, err := hc.Do(req)
					if assert.NoError(t, err) {
						_ = resp.Body.Close()
						assert.Less(t, resp.StatusCode, 500, p.path)
					}
				}
				_, err := client.Export(grpcAuth(ctx), ptraceotlp.NewExportRequestFromTraces(ptrace.NewTraces()))
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, conn.Close())
	hc.CloseIdleConnections()

	require.NoError(t, r.Shutdown(ctx))
	require.NoError(t, r.Shutdown(ctx), "a second Shutdown is a no-op")

	never, err := New(cfg, Settings{}, nopConv{}, nopPub{})
	require.NoError(t, err)
	require.NoError(t, never.Shutdown(ctx), "Shutdown without Start")

	// Start fails after the gRPC server started: the HTTP port is taken.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	cfg2 := NewDefaultConfig()
	cfg2.GRPCEndpoint, cfg2.HTTPEndpoint = freeAddr(t), taken.Addr().String()
	half, err := New(cfg2, Settings{}, nopConv{}, nopPub{})
	require.NoError(t, err)
	require.Error(t, half.Start(ctx))
	require.NoError(t, half.Shutdown(ctx))
}

func grpcAuth(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer s3cret")
}
