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
	for _, name := range []string{"bench/kafka_events_create.sql", "bench/kafka_mv_create.sql"} {
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
