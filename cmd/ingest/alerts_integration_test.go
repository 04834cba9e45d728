//go:build integration

package main_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/pipeline/store"
)

// Alertmanager notifications go the whole way: ingest serve (auth) ->
// Kafka -> ingest sink -> ClickHouse, as kind 'alert' rows; a notification
// sent again (Alertmanager retries and repeats) adds no new alert.
func TestServeStoresAlertmanagerNotifications(t *testing.T) {
	t.Parallel()
	c := chtest.Open(t)
	topic := kafkatest.Topic(t, 3)
	p := startServe(t, strings.Join(kafkatest.Brokers(), ","), topic, "STEADYSTATE_INGEST_TOKENS=am-token")
	sink := startSink(t, c.DB, store.NewDefaultConfig().Addr, topic, topic+".sink")
	url := "http://" + p.http + "/v1/alerts/alertmanager"

	firing := `{"version":"4","groupKey":"g1","status":"firing","receiver":"steadystate","externalURL":"http://am:9093",
	  "alerts":[{"status":"firing","labels":{"alertname":"PaymentDependencyErrors","severity":"ticket","service":"payment",
	  "experiment":"am-exp","cohort":"experiment"},"annotations":{"summary":"payment errors"},
	  "startsAt":"2026-11-21T10:02:30Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f00dfeed00000001"}]}`
	resolved := strings.NewReplacer(`"status":"firing","labels"`, `"status":"resolved","labels"`,
		`"endsAt":"0001-01-01T00:00:00Z"`, `"endsAt":"2026-11-21T10:12:00Z"`).Replace(firing)

	code, _ := post(t, url, "", "", []byte(firing))
	assert.Equal(t, http.StatusUnauthorized, code, "alerts need a token like every other endpoint")
	code, body := post(t, url, "Bearer am-token", "", []byte(`{"version":"4","alerts":[{"status":"firing","labels":{}}]}`))
	assert.Equal(t, http.StatusBadRequest, code, body)
	assert.Contains(t, body, "alerts[0]: labels.alertname: required")

	for i := 0; i < 3; i++ { // the first send and two retries
		code, body := post(t, url, "Bearer am-token", "", []byte(firing))
		require.Equal(t, http.StatusOK, code, body)
		assert.JSONEq(t, `{"accepted":1,"rejected":0}`, body)
	}
	code, body = post(t, url, "Bearer am-token", "", []byte(resolved))
	require.Equal(t, http.StatusOK, code, body)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var raw uint64
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		_, raw = distinctCount(ctx, t, c, "am-exp")
		if raw >= 4 {
			break
		}
	}
	require.Equal(t, uint64(4), raw, "four notifications stored\n%s", sink.Logs())

	rows, err := c.Conn.Query(ctx, fmt.Sprintf(`SELECT event_id, toString(kind), name, service, severity, toString(cohort), toString(status),
		is_error, toUnixTimestamp(event_time), attr_values[indexOf(attr_keys, 'alert.fingerprint')], body
		FROM %s.events WHERE experiment_id = 'am-exp' ORDER BY event_time, event_id LIMIT 1 BY event_id`, c.DB))
	require.NoError(t, err)
	defer rows.Close()
	type row struct {
		id, kind, name, service, severity, cohort, status string
		isErr                                             uint8
		ts                                                uint32
		fp, body                                          string
	}
	var got []row
	for rows.Next() {
		var r row
		require.NoError(t, rows.Scan(&r.id, &r.kind, &r.name, &r.service, &r.severity, &r.cohort, &r.status, &r.isErr, &r.ts, &r.fp, &r.body))
		got = append(got, r)
	}
	require.NoError(t, rows.Err())
	require.Len(t, got, 2, "retries collapse into one firing row; the resolution is the second")
	start := time.Date(2026, 11, 21, 10, 2, 30, 0, time.UTC)
	assert.Equal(t, row{id: got[0].id, kind: "alert", name: "PaymentDependencyErrors", service: "payment", severity: "ticket",
		cohort: "experiment", status: "error", ts: uint32(start.Unix()), fp: "f00dfeed00000001", body: "payment errors"}, got[0])
	assert.Equal(t, "ok", got[1].status)
	assert.Equal(t, uint32(start.Add(9*time.Minute+30*time.Second).Unix()), got[1].ts)
	assert.NotEqual(t, got[0].id, got[1].id)
}
