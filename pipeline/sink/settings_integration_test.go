//go:build integration

package sink

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/queries"
)

// The sink's insert settings reach the server with its inserts (not only
// its config): with ParallelViews every insert the sink makes is logged in
// system.query_log with parallel_view_processing = 1 and ran on more
// threads than its own (the views'); without it the setting is not sent
// and the insert ran on one thread.
func TestInsertSettingsReachTheServer(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		t.Run(fmt.Sprintf("parallel_views_%t", parallel), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			stCfg := chtest.Config(t)
			stCfg.LogQueries = true
			st := chtest.OpenConfig(t, stCfg)
			cfg := NewDefaultConfig()
			cfg.Brokers, cfg.Topic = kafkatest.Brokers(), kafkatest.Topic(t, 2)
			cfg.Group = fmt.Sprintf("settings-%d", time.Now().UnixNano())
			cfg.MaxAge = 100 * time.Millisecond
			cfg.ParallelViews = parallel
			s, err := New(cfg, Settings{}, st)
			require.NoError(t, err)

			tr := bus.NewTransport()
			defer tr.CloseIdleConnections()
			w := &kafka.Writer{Addr: kafka.TCP(cfg.Brokers...), Topic: cfg.Topic, RequiredAcks: kafka.RequireAll, Transport: tr}
			msgs := make([]kafka.Message, 0, 500)
			for i := range 500 {
				msgs = append(msgs, kafka.Message{Value: benchWire(i)})
			}
			require.NoError(t, w.WriteMessages(ctx, msgs...))
			require.NoError(t, w.Close())

			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- s.Run(runCtx) }()
			defer func() {
				stop()
				assert.NoError(t, <-done)
			}()

			// The sink's inserts, once the first is logged.
			params := queries.Params{"setting": "parallel_view_processing", "insert": "INSERT INTO " + st.DB + ".events "}
			var values []string
			var threads []uint64
			require.Eventually(t, func() bool {
				flush, err := st.SQL("bench/bench_flush_logs.sql", nil)
				require.NoError(t, err)
				require.NoError(t, st.Conn.Exec(ctx, flush))
				rows, err := st.Query(ctx, "bench/insert_settings.sql", params)
				require.NoError(t, err)
				defer rows.Close()
				values, threads = nil, nil
				for rows.Next() {
					var v string
					var n uint64
					require.NoError(t, rows.Scan(&v, &n))
					values, threads = append(values, v), append(threads, n)
				}
				require.NoError(t, rows.Err())
				return len(values) > 0
			}, time.Minute, 200*time.Millisecond, "the sink's inserts in system.query_log")
			for i, v := range values {
				if parallel {
					assert.Equal(t, "1", v, "insert %d's parallel_view_processing", i)
					assert.Greater(t, threads[i], uint64(1), "insert %d: the views on threads of their own", i)
				} else {
					assert.Empty(t, v, "insert %d: parallel_view_processing not sent", i)
					assert.Equal(t, uint64(1), threads[i], "insert %d: the views on the insert's thread", i)
				}
			}
		})
	}
}
