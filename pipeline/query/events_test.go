package query

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

// The export's SELECT list is telemetry.ExportColumns, in order, so the
// scan (eventScan.dest, built from the same list) reads what it names.
func TestExportQuerySelectsTheExportColumns(t *testing.T) {
	text, err := queries.Render("analyze/export_events.sql", queries.Data{DB: "db"})
	require.NoError(t, err)
	body := text[strings.Index(text, "SELECT")+len("SELECT") : strings.Index(text, "FROM ")]
	alias := regexp.MustCompile(`(?i)\bAS\s+(\w+)\s*$`)
	var got []string
	for _, item := range strings.Split(body, ",") {
		item = strings.TrimSpace(item)
		if m := alias.FindStringSubmatch(item); m != nil {
			item = m[1]
		}
		got = append(got, item)
	}
	want := make([]string, len(telemetry.ExportColumns))
	for i, c := range telemetry.ExportColumns {
		want[i] = c.String()
	}
	assert.Equal(t, want, got)
	var sc eventScan
	assert.Len(t, sc.dest(), len(want), "one scan destination per column")
}

func TestSampledMatchesClickHouseIntHash64(t *testing.T) {
	// SELECT intHash64(toUInt64(1764450000123456789)), intHash64(toUInt32(1764450000))
	// on ClickHouse 18.16.1.
	assert.Equal(t, uint64(12306797975337149199), intHash64(1764450000123456789))
	assert.Equal(t, uint64(14272381206408925728), intHash64(1764450000))
	ns := uint64(1764450000123456789)
	all := SampleRate{SecondPPM: 1_000_000, ControlPPM: 1_000_000, ExperimentPPM: 1_000_000}
	assert.True(t, Sampled(ns, telemetry.CohortControl, all))
	sec := int64(14272381206408925728 % 1_000_000)
	assert.False(t, Sampled(ns, telemetry.CohortControl, SampleRate{SecondPPM: sec, ControlPPM: 1_000_000}))
	assert.True(t, Sampled(ns, telemetry.CohortControl, SampleRate{SecondPPM: sec + 1, ControlPPM: 1_000_000}))
}
