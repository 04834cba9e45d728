package queries

import (
	"io/fs"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEveryFileRendersAndNamesAreUnique(t *testing.T) {
	seen := map[string]string{}
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if d.IsDir() || !strings.HasSuffix(p, ".sql") {
			return nil
		}
		base := path.Base(p)
		require.NotContains(t, seen, base, "%s and %s share a template name", p, seen[base])
		seen[base] = p
		for _, cluster := range []string{"", "prod"} {
			s, err := Render(p, Data{DB: "steadystate", Cluster: cluster})
			require.NoError(t, err, p)
			assert.NotEmpty(t, s, p)
			assert.NotContains(t, s, "{{", p)
		}
		return nil
	})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(seen), 10)
}

func TestMigrationsAreOrderedAndPaired(t *testing.T) {
	migs, err := Migrations()
	require.NoError(t, err)
	require.NotEmpty(t, migs)
	// Versions increase strictly but may leave gaps: parallel work reserves
	// ranges (0007-0009, 0010-0012, ...), and Migrate applies every
	// migration not yet recorded, whatever lands first.
	for i, m := range migs {
		if i == 0 {
			assert.Equal(t, 1, m.Version, "versions start at 1")
		} else {
			assert.Greater(t, m.Version, migs[i-1].Version, "versions increase")
		}
		assert.NotEmpty(t, m.Up)
		assert.NotEmpty(t, m.Down)
	}
}

func TestClusterRendering(t *testing.T) {
	s, err := Render("schema/0001_events.up.sql", Data{DB: "ss", Cluster: "prod"})
	require.NoError(t, err)
	assert.Contains(t, s, "CREATE TABLE IF NOT EXISTS ss.events_local ON CLUSTER `prod`\n")
	assert.Contains(t, s, "CREATE TABLE IF NOT EXISTS ss.events ON CLUSTER `prod` AS ss.events_local\nENGINE = Distributed('prod', 'ss', 'events_local', cityHash64(event_id))")
	s, err = Render("schema/0001_events.down.sql", Data{DB: "ss", Cluster: "prod"})
	require.NoError(t, err)
	assert.Equal(t, "DROP TABLE IF EXISTS ss.events ON CLUSTER `prod`;\nDROP TABLE IF EXISTS ss.events_local ON CLUSTER `prod`", s)
	s, err = Render("schema/0001_events.down.sql", Data{DB: "ss"})
	require.NoError(t, err)
	assert.Equal(t, "DROP TABLE IF EXISTS ss.events", s)
	s, err = Render("schema/0001_events.up.sql", Data{DB: "ss", Cluster: "prod"})
	require.NoError(t, err)
	assert.Contains(t, s, "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/ss/events', '{replica}')")
	s, err = Render("schema/0004_runs.up.sql", Data{DB: "ss"})
	require.NoError(t, err)
	assert.Contains(t, s, "ENGINE = ReplacingMergeTree(updated_ns)")
}

func TestRenderRejectsBadNames(t *testing.T) {
	_, err := Render("schema/0001_events.up.sql", Data{DB: "x; DROP TABLE y"})
	require.ErrorContains(t, err, "database name")
	_, err = Render("schema/0001_events.up.sql", Data{DB: "ok", Cluster: "a b"})
	require.ErrorContains(t, err, "cluster name")
	_, err = Render("analyze/nope.sql", Data{DB: "ok"})
	assert.ErrorContains(t, err, `no query file "analyze/nope.sql"`)
}

func TestBind(t *testing.T) {
	tests := []struct {
		name, sql string
		params    Params
		want, err string
	}{
		{"values", "SELECT @a, @b, @c, @d, @e", Params{"a": "it's", "b": int64(-3), "c": 1.5, "d": []string{"x", "y'"}, "e": uint64(7)},
			`SELECT 'it\'s', -3, 1.5, ['x', 'y\'']` + ", 7", ""},
		{"whole float keeps a point", "SELECT @f", Params{"f": 2.0}, "SELECT 2.0", ""},
		{"time", "SELECT @t", Params{"t": time.Unix(1700000000, 5)}, "SELECT toDateTime(1700000000)", ""},
		{"escapes", "SELECT @s", Params{"s": "a\\b\x00\n\r\t"}, `SELECT 'a\\b\0\n\r\t'`, ""},
		{"not in strings or comments", "SELECT '@a', `@a` -- @a\n, @a", Params{"a": 1}, "SELECT '@a', `@a` -- @a\n, 1", ""},
		{"escaped quote in string", `SELECT 'x\'@a', @a`, Params{"a": 1}, `SELECT 'x\'@a', 1`, ""},
		{"missing", "SELECT @a", Params{}, "", "no value for @a"},
		{"unused", "SELECT 1", Params{"a": 1, "b": 2}, "", "does not use: @a, @b"},
		{"nan", "SELECT @a", Params{"a": 0.0 / zero()}, "", "no portable literal"},
		{"type", "SELECT @a", Params{"a": struct{}{}}, "", "unsupported value type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Bind(tt.sql, tt.params)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func zero() float64 { return 0 }

// A read template leaves out a filter only when the bound value decides
// it (Data.Bound); rendered without its parameters, or with a value that
// filters, the statement keeps the full condition.
func TestBoundLeavesOutDecidedFilters(t *testing.T) {
	render := func(p Params) string {
		t.Helper()
		text, err := Render("analyze/unit_count.sql", Data{DB: "db", Params: p})
		require.NoError(t, err)
		sql, err := Bind(text, Params{"experiment_id": "e", "unit_max": uint64(1), "since_s": 0, "until_s": 10,
			"logs": p["logs"], "service": p["service"], "operation": p["operation"]})
		require.NoError(t, err)
		i := strings.Index(sql, "\nSELECT")
		require.GreaterOrEqual(t, i, 0)
		return sql[i:] // the statement, not its comment
	}
	open := render(Params{"logs": 1, "service": "", "operation": ""})
	assert.NotContains(t, open, "kind")
	assert.NotContains(t, open, "service =")
	assert.NotContains(t, open, "name =")
	assert.Contains(t, open, "AND 1 = 1\n")
	assert.Contains(t, open, "AND '' = ''\n")
	filtered := render(Params{"logs": 0, "service": "checkout", "operation": "GET /x"})
	assert.Contains(t, filtered, "(0 = 1 OR kind != 'log')")
	assert.Contains(t, filtered, "('checkout' = '' OR service = 'checkout')")
	assert.Contains(t, filtered, "('GET /x' = '' OR name = 'GET /x')")
	text, err := Render("analyze/unit_count.sql", Data{DB: "db"})
	require.NoError(t, err)
	assert.Contains(t, text, "(@service = '' OR service = @service)", "without its parameters the full condition")
	assert.Empty(t, Data{}.Bound("service"))
	assert.Equal(t, "''", Data{Params: Params{"service": ""}}.Bound("service"))
}
