// Package retention drops data older than a configured age, by whole day
// partitions: ClickHouse 18.16 has no TTL, so `ALTER TABLE ... DROP
// PARTITION` is the portable way (on a current server it is as cheap).
// Every table the schema partitions by day belongs to a class with its own
// age: raw events, the views fed from them, and caches. Runs and sink
// progress are not partitioned and tiny; they are kept.
package retention

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/queries"
)

// Class groups tables with one retention age.
type Class string

// The retention classes.
const (
	Raw   Class = "raw"   // events: every span, log and event
	Views Class = "views" // aggregates fed by materialized views
	Cache Class = "cache" // caches derived from the views
)

// Table is a day-partitioned table of the schema and its time column (the
// argument of its PARTITION BY toYYYYMMDD(...)).
type Table struct {
	Name, Column string
	Class        Class
	View         bool // a materialized view
}

// Tables are the day-partitioned tables of queries/schema. A migration
// that adds a day-partitioned table adds it here; TestTablesMatchSchema
// checks the list against the rendered schema.
var Tables = []Table{
	{"events", "event_time", Raw, false},
	{"cohort_stats", "bucket", Views, true},
	{"cohort_tally", "bucket", Views, true},
	{"flow_stages", "day", Views, true},
	{"trace_cohorts_v2", "first_seen", Views, false},
	{"unit_tally", "bucket", Views, true},
	{"unit_groups", "bucket", Views, true},
	{"unit_groups_minute", "bucket", Views, true},
	{"unit_seen", "bucket", Views, true},
	{"trace_tagged_tally", "bucket", Views, true},
	{"trace_subjects", "first_seen", Views, true},
	{"verdict_history", "evaluated_at", Views, false},
	{"verdict_changes", "evaluated_at", Views, false},
	{"cohort_settled", "bucket", Cache, false},
	{"settle_claims", "hour", Cache, false},
	{"unit_settled", "since", Cache, false},
}

// Config is the age per class; zero keeps a class forever.
type Config struct {
	Raw   time.Duration `yaml:"raw"`
	Views time.Duration `yaml:"views"`
	Cache time.Duration `yaml:"cache"`
	// Cluster, when set, drops on every server (ON CLUSTER) from the
	// replicated <table>_local tables.
	Cluster string `yaml:"cluster"`
}

// NewDefaultConfig keeps raw events 30 days and views and caches 400 days
// (a year of game days to compare against).
func NewDefaultConfig() Config {
	return Config{Raw: 30 * 24 * time.Hour, Views: 400 * 24 * time.Hour, Cache: 400 * 24 * time.Hour}
}

// Validate rejects negative ages and caches kept longer than the views
// they cache would be pointless but allowed; raw kept longer than views is
// allowed too (views can be rebuilt from raw).
func (c Config) Validate() error {
	var errs []error
	for _, x := range []struct {
		name string
		d    time.Duration
	}{{"raw", c.Raw}, {"views", c.Views}, {"cache", c.Cache}} {
		if x.d < 0 {
			errs = append(errs, fmt.Errorf("%s age %s: must not be negative (0 keeps forever)", x.name, x.d))
		}
		if x.d > 0 && x.d < 24*time.Hour {
			errs = append(errs, fmt.Errorf("%s age %s: at least 24h (data is dropped by whole days)", x.name, x.d))
		}
	}
	return errors.Join(errs...)
}

func (c Config) age(cl Class) time.Duration {
	switch cl {
	case Raw:
		return c.Raw
	case Views:
		return c.Views
	default:
		return c.Cache
	}
}

// Drop is one partition dropped (or, in a dry run, to drop).
type Drop struct {
	Table string `json:"table"`
	Day   uint32 `json:"day"` // YYYYMMDD
}

// Apply drops every day partition that ends before now minus its class's
// age: a partition is dropped only when all of its day is older than the
// cutoff. With dryRun it only lists them.
func Apply(ctx context.Context, st *store.Client, cfg Config, now time.Time, dryRun bool) ([]Drop, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var out []Drop
	for _, t := range Tables {
		age := cfg.age(t.Class)
		if age == 0 {
			continue
		}
		before := dayNumber(now.Add(-age))
		days, err := partitions(ctx, st, t, before)
		if err != nil {
			return out, err
		}
		for _, d := range days {
			if !dryRun {
				sql, err := render(st.DB, cfg.Cluster, t, "retention/drop_partition.sql", queries.Params{"day": d})
				if err != nil {
					return out, err
				}
				if err := st.Conn.Exec(ctx, sql); err != nil {
					return out, fmt.Errorf("drop partition %d of %s.%s: %w", d, st.DB, t.Name, err)
				}
			}
			out = append(out, Drop{Table: t.Name, Day: d})
		}
	}
	return out, nil
}

// dayNumber is t's UTC day as YYYYMMDD, the partition id toYYYYMMDD gives
// on a server whose timezone is UTC (the deployments set it).
func dayNumber(t time.Time) uint32 {
	n, _ := strconv.Atoi(t.UTC().Format("20060102"))
	return uint32(n)
}

func partitions(ctx context.Context, st *store.Client, t Table, before uint32) ([]uint32, error) {
	sql, err := render(st.DB, "", t, "retention/partitions.sql", queries.Params{"before_day": before})
	if err != nil {
		return nil, err
	}
	rows, err := st.Conn.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s.%s: %w", st.DB, t.Name, err)
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var d uint32
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("list partitions of %s.%s: %w", st.DB, t.Name, err)
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, rows.Err()
}

func render(db, cluster string, t Table, name string, p queries.Params) (string, error) {
	text, err := queries.Render(name, queries.Data{DB: db, Cluster: cluster, Table: t.Name, Column: t.Column, View: t.View})
	if err != nil {
		return "", err
	}
	sql, err := queries.Bind(text, p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return sql, nil
}
