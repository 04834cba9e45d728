package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/store"
)

// printDDL runs `analyze migrate --print [args]` against database
// "steadystate" and returns the statements it printed.
func printDDL(t *testing.T, args ...string) (string, []string) {
	t.Helper()
	ios, _, out, errOut := cliutil.Test()
	f := &factory{IO: ios, StoreConfig: func() store.Config {
		c := store.NewDefaultConfig()
		c.Database = "steadystate"
		return c
	}}
	root := newRootCmd(f)
	root.SetArgs(append([]string{"migrate", "--print"}, args...))
	require.NoError(t, root.Execute(), errOut.String())
	var stmts []string
	for _, s := range strings.Split(out.String(), ";\n") {
		if s = strings.TrimSpace(s); s != "" {
			stmts = append(stmts, s)
		}
	}
	return out.String(), stmts
}

// golden compares got with testdata/name. The files were written once from
// this output and reviewed; a schema change shows up as a diff here.
func golden(t *testing.T, name, got string) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	assert.Equal(t, string(want), got, "testdata/%s differs from `analyze migrate --print` output", name)
}

var (
	createRE      = regexp.MustCompile("(?s)^(?:--[^\n]*\n)*CREATE (DATABASE|TABLE|MATERIALIZED VIEW) IF NOT EXISTS ([a-z_.0-9]+)( ON CLUSTER `prod`)?")
	engineRE      = regexp.MustCompile(`ENGINE = (\w+)\(([^\n]*)\)`)
	distributedRE = regexp.MustCompile(`^'prod', 'steadystate', '(\w+)'(?:, (.+))?$`)
	dropRE        = regexp.MustCompile("(?s)^(?:--[^\n]*\n)*DROP TABLE IF EXISTS ([a-z_.0-9]+)( ON CLUSTER `prod`)?$")
	insertRE      = regexp.MustCompile(`(?s)^(?:--[^\n]*\n)*INSERT INTO ([a-z_.0-9]+) \(.*\)\nSELECT .*\nFROM ([a-z_.0-9]+)$`)
	viewToRE      = regexp.MustCompile(`\nTO ([a-z_.0-9]+)\n`)
)

func TestMigratePrintCluster(t *testing.T) {
	out, stmts := printDDL(t, "--cluster", "prod")
	golden(t, "migrate-print-cluster.golden.sql", out)

	locals := map[string]bool{}        // replicated tables and views, by name
	distributed := map[string]string{} // Distributed table -> the local table it reads
	keys := map[string]string{}
	copies := map[string]string{} // table copied into -> the table copied from
	for _, s := range stmts {
		if m := dropRE.FindStringSubmatch(s); m != nil {
			// A table a later migration replaces (trace_cohorts by
			// trace_cohorts_v2): dropped on every server.
			assert.NotEmpty(t, m[2], "DROP %s has ON CLUSTER", m[1])
			continue
		}
		if m := insertRE.FindStringSubmatch(s); m != nil {
			// A migration's copy of the rows of a table it replaces:
			// read and written through the Distributed tables, so
			// every shard's rows are copied.
			copies[m[1]] = m[2]
			continue
		}
		m := createRE.FindStringSubmatch(s)
		require.NotNil(t, m, "every statement is a CREATE, a DROP or a copy:\n%s", s)
		assert.NotEmpty(t, m[3], "%s %s has ON CLUSTER", m[1], m[2])
		if m[1] == "DATABASE" {
			continue
		}
		if to := viewToRE.FindStringSubmatch(s); m[1] == "MATERIALIZED VIEW" && to != nil {
			// A view TO an explicit table stores nothing itself: it
			// writes the shard's local table from the shard's events.
			assert.True(t, strings.HasSuffix(m[2], "_local") && strings.HasSuffix(to[1], "_local"), "view %s writes %s: both local", m[2], to[1])
			assert.Regexp(t, `FROM steadystate\.\w+_local\n`, s, "view %s reads the shard's local table", m[2])
			continue
		}
		e := engineRE.FindStringSubmatch(s)
		require.NotNil(t, e, "%s has an engine", m[2])
		switch {
		case e[1] == "Distributed":
			d := distributedRE.FindStringSubmatch(e[2])
			require.NotNil(t, d, "Distributed arguments of %s: %s", m[2], e[2])
			distributed[m[2]], keys[m[2]] = "steadystate."+d[1], d[2]
			assert.Contains(t, s, " AS steadystate."+d[1], "%s takes its columns from the local table", m[2])
		case strings.HasPrefix(e[1], "Replicated") && strings.HasSuffix(e[1], "MergeTree"):
			assert.Regexp(t, `^'/clickhouse/tables/\{shard\}/steadystate/\w+', '\{replica\}'`, e[2], "%s uses the {shard}/{replica} macros", m[2])
			locals[m[2]] = true
			if m[1] == "MATERIALIZED VIEW" {
				assert.Regexp(t, `FROM steadystate\.\w+_local\n`, s, "view %s reads the shard's local table", m[2])
			}
		default:
			t.Errorf("%s: engine %s is neither replicated nor Distributed", m[2], e[1])
		}
	}
	require.Len(t, distributed, 20)
	assert.Equal(t, map[string]string{"steadystate.trace_cohorts_v2": "steadystate.trace_cohorts"}, copies)
	for to, from := range copies {
		assert.Contains(t, distributed, to, "the copy writes every shard through %s", to)
		assert.Contains(t, distributed, from, "the copy reads every shard through %s", from)
		assert.NotEmpty(t, keys[to], "a copy into %s is sharded", to)
	}
	for local := range locals {
		if local == "steadystate.schema_migrations" {
			continue
		}
		require.True(t, strings.HasSuffix(local, "_local"), "replicated table %s is named *_local", local)
		front := strings.TrimSuffix(local, "_local")
		assert.Equal(t, local, distributed[front], "a Distributed table %s reads %s", front, local)
	}
	for _, table := range []string{"events", "cohort_stats", "flow_stages", "runs", "sink_progress", "cohort_tally", "cohort_settled", "verdict_history", "unit_tally", "trace_subjects", "verdict_changes", "unit_groups", "unit_groups_minute", "unit_seen", "trace_tagged_tally", "settle_claims", "cohort_counts", "unit_settled", "trace_cohorts_v2"} {
		assert.Contains(t, distributed, "steadystate."+table, "reads of %s go through a Distributed table", table)
	}
	// Inserts through the Distributed tables must keep duplicates on one
	// shard, where ReplacingMergeTree collapses them.
	assert.Equal(t, "cityHash64(event_id)", keys["steadystate.events"])
	assert.Equal(t, "cityHash64(run_id)", keys["steadystate.runs"])
}

func TestMigratePrintSingleServer(t *testing.T) {
	out, stmts := printDDL(t)
	// Applied migrations are checked by checksum of this text: it must not
	// change when cluster support changes.
	golden(t, "migrate-print.golden.sql", out)
	for _, s := range stmts {
		assert.NotContains(t, s, "ON CLUSTER")
		assert.NotContains(t, s, "_local")
		assert.NotContains(t, s, "Distributed")
		assert.NotContains(t, s, "Replicated")
	}
}
