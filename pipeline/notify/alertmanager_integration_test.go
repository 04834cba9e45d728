//go:build integration

package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/amtest"
	"github.com/steadystate/steadystate/pipeline/notify"
)

// The fingerprint notify computes is the one a real Alertmanager reports
// for the same alert.
func TestFingerprintMatchesRealAlertmanager(t *testing.T) {
	am := amtest.Start(t)
	n, err := notify.NewAlertmanager(am.URL, notify.HTTPSettings{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := notify.Alert{Labels: map[string]string{"alertname": "FlowItemsStuck", "flow": "publish", "severity": "page"}, StartsAt: time.Now()}
	require.NoError(t, n.Notify(ctx, []notify.Alert{a}))
	var got []amtest.Alert
	require.Eventually(t, func() bool {
		all, err := am.Alerts(ctx)
		got = amtest.Find(all, map[string]string{"alertname": "FlowItemsStuck"})
		return err == nil && len(got) == 1
	}, 20*time.Second, 100*time.Millisecond)
	assert.Equal(t, got[0].Fingerprint, a.Fingerprint())
	assert.Equal(t, "ee410f4f2412f9ed", got[0].Fingerprint)
}
