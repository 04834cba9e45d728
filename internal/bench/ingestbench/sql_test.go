package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

// TestKafkaEngineColumnsAreTheSchema: the Kafka-engine baseline's tables
// (queries/bench) declare the events table's wire columns with the types of
// telemetry.Schema, in its order, like the sink's insert.
func TestKafkaEngineColumnsAreTheSchema(t *testing.T) {
	var want []string
	for _, c := range telemetry.Schema[:telemetry.NumColumns-2] {
		want = append(want, c.Name+" "+c.Type)
	}
	col := regexp.MustCompile(`(?m)^    ([a-z_]+ [A-Z].*?),?$`)
	for _, name := range []string{"bench/kafka_events_create.sql", "bench/kafka_events_standin.sql", "bench/kafka_mv_create.sql"} {
		text, err := queries.Render(name, queries.Data{DB: "db"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range col.FindAllStringSubmatch(text, -1) {
			got = append(got, m[1])
		}
		if name == "bench/kafka_mv_create.sql" {
			got = got[:len(got)-2] // kafka_partition, kafka_offset
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s columns:\n%s\nwant telemetry.Schema's:\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	text, err := queries.Render("bench/events_insert_json.sql", queries.Data{DB: "db"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "("+strings.Join(telemetry.Columns[:telemetry.NumColumns-2], ", ")+")") {
		t.Errorf("events_insert_json.sql does not list telemetry.Columns' wire columns:\n%s", text)
	}
}

// TestKafkaViewDDL: path C's copy of a view reads the Kafka table and
// writes into the view's own table; a stored view it cannot rewrite is an
// error, not a copy that silently reads events.
func TestKafkaViewDDL(t *testing.T) {
	create := "CREATE MATERIALIZED VIEW b.cohort_tally ( experiment_id String,  rows UInt64) ENGINE = SummingMergeTree() PARTITION BY toYYYYMMDD(bucket) ORDER BY (experiment_id, bucket) SETTINGS index_granularity = 8192 AS SELECT experiment_id, count() AS rows FROM b.events WHERE kind IN ('span', 'event', 'log') GROUP BY experiment_id"
	got, err := kafkaViewDDL("b", "cohort_tally", create)
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE MATERIALIZED VIEW b.cohort_tally_from_kafka TO b.`.inner.cohort_tally` AS SELECT experiment_id, count() AS rows FROM b.kafka_events WHERE kind IN ('span', 'event', 'log') GROUP BY experiment_id"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A view TO an explicit table (as 18.16 stores it): the copy writes there.
	to := "CREATE MATERIALIZED VIEW b.trace_cohorts_v2_mv TO b.trace_cohorts_v2 ( experiment_id String,  trace_id String) AS SELECT experiment_id, trace_id FROM b.events  WHERE trace_id != '' LIMIT 1 BY experiment_id, trace_id"
	got, err = kafkaViewDDL("b", "trace_cohorts_v2_mv", to)
	if err != nil {
		t.Fatal(err)
	}
	want = "CREATE MATERIALIZED VIEW b.trace_cohorts_v2_mv_from_kafka TO b.trace_cohorts_v2 AS SELECT experiment_id, trace_id FROM b.kafka_events  WHERE trace_id != '' LIMIT 1 BY experiment_id, trace_id"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{
		strings.Replace(create, " FROM b.events", " FROM b.other", 1),
		strings.Replace(create, " AS SELECT ", " AS select ", 1),
	} {
		if ddl, err := kafkaViewDDL("b", "cohort_tally", bad); err == nil {
			t.Errorf("no error for %s: %s", bad, ddl)
		}
	}
}
