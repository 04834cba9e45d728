package sink

import "github.com/spf13/pflag"

// AddFlags registers `ingest sink`'s batching, group and dead-letter flags
// with the config's values as defaults (the ClickHouse connection's and the
// admin server's flags are the command's).
func (c *Config) AddFlags(fl *pflag.FlagSet) {
	fl.StringVar(&c.Topic, "topic", c.Topic, "Kafka topic to consume")
	fl.StringVar(&c.Group, "group", c.Group, "consumer group")
	fl.StringVar(&c.DeadLetterTopic, "dead-letter-topic", "", "dead-letter topic (default <topic>.dlq)")
	fl.IntVar(&c.MaxRows, "max-rows", c.MaxRows, "flush a batch at this many rows")
	fl.IntVar(&c.BehindRows, "behind-rows", c.BehindRows, "flush a batch at this many rows while catching up, when above --max-rows (0: off)")
	fl.IntVar(&c.MaxBytes, "max-bytes", c.MaxBytes, "flush a batch at this many bytes")
	fl.DurationVar(&c.MaxAge, "max-age", c.MaxAge, "flush a batch this long after its first record")
	fl.IntVar(&c.Inserts, "inserts", c.Inserts, "batches inserted at once (offsets are still committed in order)")
	fl.IntVar(&c.AgeInserts, "age-inserts", c.AgeInserts, "of those, batches flushed by --max-age (not full) at once")
	fl.BoolVar(&c.ParallelViews, "parallel-views", c.ParallelViews, "have ClickHouse feed the materialized views of each insert on several threads at once (parallel_view_processing)")
	fl.IntVar(&c.MaxEventBytes, "max-event-bytes", c.MaxEventBytes, "dead-letter records larger than this")
}
