package store

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// The sink's insert names telemetry.Columns, in order: the statement in
// queries/write and the schema in telemetry say the same thing.
func TestInsertColumnsAreTheSchema(t *testing.T) {
	sql, err := (&Client{DB: "db"}).InsertSQL("write/events_insert.sql")
	require.NoError(t, err)
	assert.Equal(t, "INSERT INTO db.events ("+strings.Join(telemetry.Columns, ", ")+")", sql)
}
