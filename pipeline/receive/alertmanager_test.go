package receive

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

const amFiring = `{
  "version": "4",
  "groupKey": "{}:{alertname=\"PaymentDependencyErrors\"}",
  "truncatedAlerts": 0,
  "status": "firing",
  "receiver": "steadystate",
  "groupLabels": {"alertname": "PaymentDependencyErrors"},
  "commonLabels": {"alertname": "PaymentDependencyErrors"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093",
  "alerts": [
    {
      "status": "firing",
      "labels": {"alertname": "PaymentDependencyErrors", "severity": "ticket", "service": "checkout",
                 "experiment": "checkout-payment-500", "cohort": "experiment"},
      "annotations": {"summary": "payment client errors above 1%", "runbook_url": "https://runbooks.example.com/pay"},
      "startsAt": "2026-11-21T10:02:30.5Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
      "fingerprint": "a1b2c3d4e5f60718"
    },
    {
      "status": "resolved",
      "labels": {"alertname": "CheckoutSlow", "job": "checkout-api", "chaos_experiment_id": "checkout-payment-500"},
      "annotations": {"description": "p95 above 1s"},
      "startsAt": "2026-11-21T10:01:00Z",
      "endsAt": "2026-11-21T10:09:00Z"
    }
  ]
}`

func TestParseAlertmanager(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 3, 0, 0, time.UTC)
	events, err := ParseAlertmanager([]byte(amFiring), now)
	require.NoError(t, err)
	require.Len(t, events, 2)

	fire := events[0]
	assert.Equal(t, telemetry.KindAlert, fire.Kind)
	assert.Equal(t, "PaymentDependencyErrors", fire.Name)
	assert.Equal(t, "checkout", fire.Service)
	assert.Equal(t, "ticket", fire.Severity)
	assert.Equal(t, "checkout-payment-500", fire.ExperimentID)
	assert.Equal(t, telemetry.CohortExperiment, fire.Cohort)
	assert.Equal(t, telemetry.StatusError, fire.Status)
	assert.False(t, fire.IsError, "alerts never count as failed requests")
	assert.Equal(t, time.Date(2026, 11, 21, 10, 2, 30, 5e8, time.UTC).UnixNano(), fire.TimeNs)
	assert.Equal(t, now.UnixNano(), fire.IngestNs)
	assert.Equal(t, "payment client errors above 1%", fire.Body)
	v, ok := fire.Attr("annotation.runbook_url")
	assert.True(t, ok)
	assert.Equal(t, "https://runbooks.example.com/pay", v)
	v, _ = fire.Attr("alert.fingerprint")
	assert.Equal(t, "a1b2c3d4e5f60718", v)
	_, hasEnd := fire.Attr("alert.ends_at")
	assert.False(t, hasEnd, "the zero endsAt of a firing alert is not recorded")
	assert.True(t, strings.HasPrefix(fire.ID, "am-"))
	assert.IsNonDecreasing(t, fire.AttrKeys, "attributes sorted by key")

	res := events[1]
	assert.Equal(t, "checkout-api", res.Service, "job label when there is no service label")
	assert.Equal(t, telemetry.StatusOK, res.Status)
	assert.Equal(t, telemetry.CohortNone, res.Cohort)
	assert.Equal(t, "checkout-payment-500", res.ExperimentID)
	assert.Equal(t, time.Date(2026, 11, 21, 10, 9, 0, 0, time.UTC).UnixNano(), res.TimeNs, "a resolution is placed at endsAt")
	assert.Equal(t, "p95 above 1s", res.Body)
	fp, _ := res.Attr("alert.fingerprint")
	assert.Len(t, fp, 16, "a fingerprint from the labels stands in for a missing one")
}

func TestParseAlertmanagerIDs(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 3, 0, 0, time.UTC)
	a, err := ParseAlertmanager([]byte(amFiring), t0)
	require.NoError(t, err)
	// The same notification again, later (a retry or repeat_interval).
	b, err := ParseAlertmanager([]byte(amFiring), t0.Add(5*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, a[0].ID, b[0].ID)
	assert.Equal(t, a[1].ID, b[1].ID)
	assert.NotEqual(t, a[0].ID, a[1].ID)

	// Its resolution is another row; a new firing (new startsAt) too.
	resolved := strings.Replace(amFiring, `"status": "firing",
      "labels": {"alertname": "PaymentDependencyErrors"`, `"status": "resolved",
      "labels": {"alertname": "PaymentDependencyErrors"`, 1)
	c, err := ParseAlertmanager([]byte(resolved), t0)
	require.NoError(t, err)
	assert.NotEqual(t, a[0].ID, c[0].ID)
	refire := strings.Replace(amFiring, "2026-11-21T10:02:30.5Z", "2026-11-21T10:20:00Z", 1)
	d, err := ParseAlertmanager([]byte(refire), t0)
	require.NoError(t, err)
	assert.NotEqual(t, a[0].ID, d[0].ID)
}

func TestParseAlertmanagerErrors(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	alert := func(fields string) string {
		return fmt.Sprintf(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"Ok"},"startsAt":"2026-11-21T10:00:00Z"},{%s}]}`, fields)
	}
	tests := []struct {
		name, body, want string
		partial          bool
	}{
		{name: "not json", body: `{"version":`, want: "alertmanager payload: invalid JSON"},
		{name: "old version", body: `{"version":"3","alerts":[]}`, want: `version "3": want "4"`},
		{name: "no alerts", body: `{"version":"4","alerts":[]}`, want: "no alerts"},
		{name: "trailing", body: `{"version":"4"} {}`, want: "data after the JSON object"},
		{name: "no alertname", body: alert(`"status":"firing","labels":{},"startsAt":"2026-11-21T10:00:00Z"`), want: "alerts[1]: labels.alertname: required", partial: true},
		{name: "bad status", body: alert(`"status":"pending","labels":{"alertname":"X"},"startsAt":"2026-11-21T10:00:00Z"`), want: `alerts[1]: status "pending"`, partial: true},
		{name: "no startsAt", body: alert(`"status":"firing","labels":{"alertname":"X"}`), want: "alerts[1]: startsAt: required", partial: true},
		{name: "bad experiment", body: alert(`"status":"firing","labels":{"alertname":"X","experiment":"x'; DROP"},"startsAt":"2026-11-21T10:00:00Z"`), want: "alerts[1]: labels.experiment:", partial: true},
		{name: "bad cohort", body: alert(`"status":"firing","labels":{"alertname":"X","cohort":"treatment"},"startsAt":"2026-11-21T10:00:00Z"`), want: `alerts[1]: labels.cohort: cohort "treatment"`, partial: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := ParseAlertmanager([]byte(tt.body), now)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			var pe *PartialError
			if tt.partial {
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, 1, pe.Rejected)
				assert.Len(t, events, 1, "the valid alert is kept")
			} else {
				assert.Empty(t, events)
			}
		})
	}
}

func TestTruncateValue(t *testing.T) {
	s := strings.Repeat("é", 3000) // 6000 bytes
	got := truncateValue(s, MaxAlertValueBytes)
	assert.LessOrEqual(t, len(got), MaxAlertValueBytes)
	assert.True(t, strings.HasSuffix(got, "...[truncated]"))
	assert.Equal(t, "short", truncateValue("short", 10))
}
