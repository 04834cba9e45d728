package store

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

// The sink's insert names telemetry.Columns, in order: the statement in
// queries/write and the schema in telemetry say the same thing.
func TestInsertColumnsAreTheSchema(t *testing.T) {
	sql, err := (&Client{DB: "db"}).InsertSQL("write/events_insert.sql")
	require.NoError(t, err)
	assert.Equal(t, "INSERT INTO db.events ("+strings.Join(telemetry.Columns, ", ")+")", sql)
}

// The --print script is every rendered statement, each ended by ";".
func TestMigrationScript(t *testing.T) {
	stmts, err := RenderMigrations("steadystate", "")
	require.NoError(t, err)
	script, err := MigrationScript("steadystate", "")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(script, stmts[0]+";\n\n"))
	assert.True(t, strings.HasSuffix(script, stmts[len(stmts)-1]+";"))
	assert.Equal(t, len(stmts), strings.Count(script, ";\n\n")+1)
}

func TestMigrateResultWrite(t *testing.T) {
	var b strings.Builder
	MigrateResult{Applied: []queries.Migration{{Version: 7, Name: "runs"}}, Current: 7}.Write(&b, "db1")
	assert.Equal(t, "applied 0007_runs\nschema of db1 at version 7 (1 applied now)\n", b.String())
}

func TestCompressionMethod(t *testing.T) {
	for _, tc := range []struct{ flag, addrs, want string }{
		{"auto", "127.0.0.1:9000", "none"},
		{"auto", "localhost:9000,[::1]:9000", "none"},
		{"auto", "127.0.0.1:9000,10.0.0.7:9000", "lz4"},
		{"auto", "clickhouse.internal:9000", "lz4"},
		{"lz4", "127.0.0.1:9000", "lz4"},
		{"none", "10.0.0.7:9000", "none"},
		{"zstd", "127.0.0.1:9000", "zstd"},
	} {
		c := Config{Compression: tc.flag, Addr: tc.addrs}
		assert.Equal(t, tc.want, c.CompressionMethod(), "%s %s", tc.flag, tc.addrs)
	}
}
