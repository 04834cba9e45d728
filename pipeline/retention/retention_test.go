package retention

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/queries"
)

// Every table the schema partitions by day is in Tables with the column of
// its PARTITION BY, so retention never forgets a table a migration adds.
func TestTablesMatchSchema(t *testing.T) {
	stmts, err := store.RenderMigrations("db", "")
	require.NoError(t, err)
	create := regexp.MustCompile(`(?s)CREATE (?:TABLE|MATERIALIZED VIEW) IF NOT EXISTS db\.(\w+).*?PARTITION BY toYYYYMMDD\((\w+)\)`)
	want := map[string]string{}
	// A table a later migration drops (trace_cohorts, replaced by
	// trace_cohorts_v2) is not retained.
	drop := regexp.MustCompile(`(?m)^DROP TABLE IF EXISTS db\.(\w+)$`)
	for _, s := range stmts {
		if m := create.FindStringSubmatch(s); m != nil {
			want[m[1]] = fmt.Sprintf("%s view=%v", m[2], strings.Contains(s, "MATERIALIZED VIEW"))
		}
		if m := drop.FindStringSubmatch(s); m != nil {
			delete(want, m[1])
		}
	}
	got := map[string]string{}
	for _, tb := range Tables {
		got[tb.Name] = fmt.Sprintf("%s view=%v", tb.Column, tb.View)
	}
	assert.Equal(t, want, got)
}

func TestRenderedStatements(t *testing.T) {
	tb := Table{"cohort_stats", "bucket", Views, true}
	single, err := render("db", "", tb, "retention/drop_partition.sql", queries.Params{"day": uint32(20261121)})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(single, "ALTER TABLE db.cohort_stats DROP PARTITION 20261121"), single)
	cl, err := render("db", "prod", tb, "retention/drop_partition.sql", queries.Params{"day": uint32(20261121)})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(cl, "ALTER TABLE db.`.inner.cohort_stats_local` ON CLUSTER `prod` DROP PARTITION 20261121"), cl)
	_, err = render("db", "", Table{"x; DROP", "bucket", Raw, false}, "retention/partitions.sql", queries.Params{"before_day": uint32(1)})
	assert.Error(t, err, "identifiers are validated")
}

func TestConfigValidate(t *testing.T) {
	assert.NoError(t, NewDefaultConfig().Validate())
	assert.NoError(t, Config{}.Validate(), "zero keeps everything")
	require.Error(t, Config{Raw: -time.Hour}.Validate())
	require.Error(t, Config{Views: time.Hour}.Validate(), "less than a day cannot be dropped by day partitions")
	assert.Equal(t, uint32(20261122), dayNumber(time.Date(2026, 11, 21, 23, 59, 0, 0, time.FixedZone("x", -3600))))
}
