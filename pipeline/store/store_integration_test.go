//go:build integration

package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

func TestMigrateTwiceGivesTheSameSchema(t *testing.T) {
	c := chtest.Open(t) // migrated once
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	snapshot := func() map[string]string {
		rows, err := c.Conn.Query(ctx, fmt.Sprintf("SELECT name, engine, create_table_query FROM system.tables WHERE database = '%s' ORDER BY name", c.DB))
		require.NoError(t, err)
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var name, engine, create string
			require.NoError(t, rows.Scan(&name, &engine, &create))
			out[name] = engine + "\n" + create
		}
		require.NoError(t, rows.Err())
		return out
	}
	before := snapshot()
	for _, table := range []string{"events", "cohort_stats", "flow_stages", "runs", "sink_progress", "schema_migrations"} {
		assert.Contains(t, before, table)
	}

	res, err := c.Migrate(ctx, store.MigrateOptions{})
	require.NoError(t, err)
	assert.Empty(t, res.Applied, "a second migrate applies nothing")
	migs, err := queries.Migrations()
	require.NoError(t, err)
	assert.Equal(t, migs[len(migs)-1].Version, res.Current)
	assert.Equal(t, before, snapshot())

	var n uint64
	require.NoError(t, c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.schema_migrations", c.DB)).Scan(&n))
	assert.Equal(t, uint64(len(migs)), n, "one row per version")
}

// The events table the migrations create is the one telemetry.Schema
// describes (the sink's insert columns and the export's scan come from
// it): same names, same types, same order.
func TestEventsTableMatchesSchema(t *testing.T) {
	c := chtest.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := c.Conn.Query(ctx, fmt.Sprintf("DESCRIBE TABLE %s.events", c.DB))
	require.NoError(t, err)
	defer rows.Close()
	var got []telemetry.Column
	for rows.Next() {
		// DESCRIBE's columns differ between releases; name and type lead.
		cells := make([]string, len(rows.Columns()))
		dest := make([]any, len(cells))
		for i := range cells {
			dest[i] = &cells[i]
		}
		require.NoError(t, rows.Scan(dest...))
		got = append(got, telemetry.Column{Name: cells[0], Type: cells[1]})
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, telemetry.Schema[:], got)
}
