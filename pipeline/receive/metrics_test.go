package receive

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/steadystate/steadystate/internal/testkit/freeport"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

type nopConv struct{}

func (nopConv) Traces(ptrace.Traces) ([]telemetry.Event, error) { return nil, nil }
func (nopConv) Logs(plog.Logs) ([]telemetry.Event, error)       { return nil, nil }
func (nopConv) JSONEvents([]byte) ([]telemetry.Event, error)    { return nil, nil }

type nopPub struct{}

func (nopPub) Publish(context.Context, []telemetry.Event) error { return nil }

func freeAddr(t *testing.T) string {
	t.Helper()
	return freeport.Addr(t)
}

func sampleMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sum := sm.Metrics().AppendEmpty()
	sum.SetName("checkout.requests")
	dps := sum.SetEmptySum().DataPoints()
	for i := 0; i < 3; i++ {
		dp := dps.AppendEmpty()
		dp.SetIntValue(int64(i))
		dp.Attributes().PutStr("chaos.experiment.cohort", "experiment")
	}
	return md
}

// OTLP metrics are never answered success-and-drop: both protocols get an
// error that counts the rejected data points and says they are not stored.
func TestMetricsRefusedNotDropped(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.GRPCEndpoint, cfg.HTTPEndpoint = freeAddr(t), freeAddr(t)
	r, err := New(cfg, Settings{}, nopConv{}, nopPub{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, r.Start(ctx))
	defer func() { _ = r.Shutdown(context.Background()) }()

	body, err := pmetricotlp.NewExportRequestFromMetrics(sampleMetrics()).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post("http://"+r.HTTPAddr()+"/v1/metrics", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(msg), "3 metric data points rejected: metrics are not stored")

	conn, err := grpc.NewClient(cfg.GRPCEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(sampleMetrics()))
	require.Error(t, err)
	assert.Equal(t, codes.InvalidArgument, status.Code(err))
	assert.Contains(t, status.Convert(err).Message(), "3 metric data points rejected: metrics are not stored")
}
