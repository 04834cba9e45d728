// Package queries holds every SQL statement Steadystate runs against
// ClickHouse, embedded from the .sql files beside this file:
//
//   - schema/NNNN_name.up.sql and .down.sql: versioned migrations, applied by
//     `analyze migrate` (the only writer of DDL);
//   - analyze/*.sql: the read side of compare, live and report;
//   - alerts/*.sql: flow completeness and absence checks;
//   - ingest/*.sql: what the sink reads back (watermarks, replay fences);
//   - write/*.sql: the INSERT statements (events, sink progress, runs, the
//     settled-count cache), each the head of a native-protocol batch;
//   - migrate/*.sql: the bookkeeping of `analyze migrate` (the database,
//     schema_migrations and what is recorded in it);
//   - bench/*.sql: what the benchmarks (internal/bench) run besides the
//     pipeline's own statements: `make bench-compare`'s generated load and
//     bookkeeping (bench_*.sql), ingestbench's counts, part and merge waits
//     and its Kafka-engine baseline (not cross-checked: they run against
//     the 18.16 server the benchmarks measure);
//   - dashboards/*.sql: the panels of the provisioned Grafana game-day
//     dashboard (deploy/compose/grafana), with Grafana's time range and
//     variables in place of the parameters.
//
// Every file is a text/template rendered with Data (database, cluster) and
// may use @name placeholders bound to literal values by Bind. Schema files
// create tables through {{.Local "t"}} and follow them with
// {{.Distributed "t" "key"}}: on a cluster (`analyze migrate --cluster`)
// the replicated table is t_local on every node and t a Distributed table
// over it, so read queries keep naming {{.DB}}.t and read the whole
// cluster; on a single server both render the plain {{.DB}}.t. Every
// statement must run on ClickHouse 18.16 and on current releases; the
// cross-check test runs them on both.
package queries

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
)

//go:embed schema/*.sql analyze/*.sql alerts/*.sql ingest/*.sql dashboards/*.sql retention/*.sql write/*.sql migrate/*.sql bench/*.sql
var FS embed.FS

// Data is what every template sees.
type Data struct {
	// DB is the database name, already validated; templates write {{.DB}}.
	DB string
	// Cluster, when set, renders ON CLUSTER clauses and Replicated engines.
	Cluster string
	// Table and Column name what a retention statement (retention/*.sql)
	// acts on: a table of the schema and its time column. Callers take
	// both from a fixed list, never from input.
	Table, Column string
	// View says Table is a materialized view (retention acts on the table
	// that stores its rows; see Stored).
	View bool
	// Params are the values the statement's @name placeholders will be
	// bound to, when the caller renders it for binding (see Bound).
	Params Params
}

// Bound is the literal (Literal) the placeholder @name will be bound to,
// or "" when the statement is rendered without its parameters or name has
// none. A read template uses it to leave out a condition the bound value
// already decides, in a form whose answer is the same for every value:
//
//	{{if eq (.Bound "service") "''"}}@service = ''{{else}}(@service = '' OR service = @service){{end}}
//
// With an empty service bound, ClickHouse 18.16 does not fold the
// constant half of the OR away: it reads the service column for every row
// to evaluate it.
func (d Data) Bound(name string) string {
	v, ok := d.Params[name]
	if !ok {
		return ""
	}
	lit, err := Literal(v)
	if err != nil {
		return ""
	}
	return lit
}

// Stored names the table that stores a retention target's rows, for
// statements that must reach the storage itself. On a single server that
// is the table or view by its own name (ALTER on a view reaches its inner
// table, on 18.16 and current releases). On a cluster it is the
// replicated <table>_local, and for a view its inner table
// ".inner.<view>_local": distributed DDL on 18.16 refuses ALTER ... ON
// CLUSTER on a view ("isn't replicated, but shard is replicated"), as the
// view itself is not a Replicated table.
func (d Data) Stored() string {
	if d.Cluster == "" || !d.View {
		return d.Local(d.Table)
	}
	return d.DB + ".`.inner." + d.Table + "_local`"
}

// Local names a table as stored on every node: DB.table on a single
// server; on a cluster DB.table_local, while DB.table is the Distributed
// table over it (see Distributed), so that queries written against
// DB.table read and write the whole cluster. Materialized views read
// their source through Local, as inserts arrive on each shard's local table.
func (d Data) Local(table string) string {
	if d.Cluster == "" {
		return d.DB + "." + table
	}
	return d.DB + "." + table + "_local"
}

// Distributed renders, on a cluster only, the end of the current statement
// and a Distributed table DB.table over DB.table_local on every node,
// sharded by shardingKey ("" for a table that is only read through it).
// Rows with the same sharding key land on the same shard, so a
// ReplacingMergeTree sharded by its identity collapses duplicates per
// shard. On a single server it renders nothing.
func (d Data) Distributed(table, shardingKey string) string {
	if d.Cluster == "" {
		return ""
	}
	args := fmt.Sprintf("'%s', '%s', '%s_local'", d.Cluster, d.DB, table)
	if shardingKey != "" {
		args += ", " + shardingKey
	}
	return fmt.Sprintf(";\n\nCREATE TABLE IF NOT EXISTS %s.%s%s AS %s\nENGINE = Distributed(%s)",
		d.DB, table, d.OnCluster(), d.Local(table), args)
}

// DropDistributed renders, on a cluster only, the statement that drops
// the Distributed table DB.table, ended by a semicolon and a newline.
func (d Data) DropDistributed(table string) string {
	if d.Cluster == "" {
		return ""
	}
	return fmt.Sprintf("DROP TABLE IF EXISTS %s.%s%s;\n", d.DB, table, d.OnCluster())
}

// OnCluster renders " ON CLUSTER name" or nothing.
func (d Data) OnCluster() string {
	if d.Cluster == "" {
		return ""
	}
	return " ON CLUSTER " + quoteIdent(d.Cluster)
}

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	// engine renders a MergeTree-family engine, replicated when the
	// template is rendered for a cluster (the zookeeper path follows the
	// {shard}/{replica} macros convention of ClickHouse clusters).
	"engine": func(table, family, args string) string { return "" },
}).ParseFS(FS, "schema/*.sql", "analyze/*.sql", "alerts/*.sql", "ingest/*.sql", "dashboards/*.sql", "retention/*.sql", "write/*.sql", "migrate/*.sql", "bench/*.sql"))

// Render renders the named file (e.g. "analyze/cohort_summary.sql").
func Render(name string, d Data) (string, error) {
	if err := ValidateIdent(d.DB); err != nil {
		return "", fmt.Errorf("database name: %w", err)
	}
	if d.Cluster != "" {
		if err := ValidateIdent(d.Cluster); err != nil {
			return "", fmt.Errorf("cluster name: %w", err)
		}
	}
	for what, v := range map[string]string{"table": d.Table, "column": d.Column} {
		if v != "" {
			if err := ValidateIdent(v); err != nil {
				return "", fmt.Errorf("%s name: %w", what, err)
			}
		}
	}
	t := templates.Lookup(path.Base(name))
	if t == nil {
		return "", fmt.Errorf("no query file %q", name)
	}
	t, err := t.Clone()
	if err != nil {
		return "", fmt.Errorf("clone template %s: %w", name, err)
	}
	t.Funcs(template.FuncMap{"engine": func(table, family, args string) string {
		if d.Cluster == "" {
			return family + "(" + args + ")"
		}
		zk := fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s', '{replica}'", d.DB, table)
		if args != "" {
			zk += ", " + args
		}
		return "Replicated" + family + "(" + zk + ")"
	}})
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return strings.TrimSpace(b.String()), nil
}

// Migration is one versioned schema change.
type Migration struct {
	Version int
	Name    string
	Up      string // file name of the up script
	Down    string // file name of the down script
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$`)

// Migrations lists schema/ in version order. Every up file must have a down
// file and versions must be unique.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(FS, "schema")
	if err != nil {
		return nil, fmt.Errorf("read schema dir: %w", err)
	}
	byVersion := map[int]*Migration{}
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("schema/%s: name must be NNNN_title.up.sql or .down.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		mig := byVersion[v]
		if mig == nil {
			mig = &Migration{Version: v, Name: m[2]}
			byVersion[v] = mig
		}
		if mig.Name != m[2] {
			return nil, fmt.Errorf("schema/%s: version %d is also named %q", e.Name(), v, mig.Name)
		}
		if m[3] == "up" {
			mig.Up = "schema/" + e.Name()
		} else {
			mig.Down = "schema/" + e.Name()
		}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		if m.Up == "" || m.Down == "" {
			return nil, fmt.Errorf("schema: migration %04d_%s needs both an up and a down file", m.Version, m.Name)
		}
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Names lists the query files of a directory ("analyze", "alerts", "ingest",
// "dashboards").
func Names(dir string) ([]string, error) {
	entries, err := fs.ReadDir(FS, dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			out = append(out, dir+"/"+e.Name())
		}
	}
	return out, nil
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// ValidateIdent checks a database or cluster name: 1-64 characters of
// [A-Za-z0-9_], not starting with a digit. Names reach DDL unquoted.
func ValidateIdent(s string) error {
	if !identRE.MatchString(s) {
		return fmt.Errorf("%q: want 1-64 characters of [A-Za-z0-9_], not starting with a digit", s)
	}
	return nil
}

func quoteIdent(s string) string { return "`" + s + "`" }
