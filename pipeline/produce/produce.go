// Package produce writes tagged events to Kafka with kafka-go: one record per
// event, its value the event's JSON wire form, keyed so one flow item or one
// trace stays in one partition. Publish returns only when Kafka acknowledged
// every record (acks=all), so callers answer their clients honestly.
package produce

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Config configures the producer.
type Config struct {
	// Config says where the events go: brokers, topic, and the partitions
	// and replication it is created with (pipeline/bus).
	bus.Config `yaml:",inline"`
	// BatchTimeout is how long the writer waits to fill a batch. kafka-go's
	// default of 1s would add a second to every request. Default: 2ms.
	BatchTimeout time.Duration `yaml:"batch_timeout"`
	// BatchSize is the most records in one produce request per partition. Default: 2000.
	BatchSize int `yaml:"batch_size"`
	// BatchBytes caps one produce request. Default: 1 MiB.
	BatchBytes int64 `yaml:"batch_bytes"`
	// WriteTimeout bounds one produce request to a broker. Default: 5s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	_            struct{}
}

// NewDefaultConfig returns the defaults.
func NewDefaultConfig() Config {
	return Config{
		Config:       bus.NewDefaultConfig(),
		BatchTimeout: 2 * time.Millisecond, BatchSize: 2000, BatchBytes: 1 << 20, WriteTimeout: 5 * time.Second,
	}
}

// Validate checks the config without dialling.
func (c Config) Validate() error {
	errs := []error{c.Config.Validate()}
	if c.BatchTimeout <= 0 || c.BatchTimeout > time.Second {
		errs = append(errs, fmt.Errorf("batch_timeout %s: must be in (0, 1s]", c.BatchTimeout))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("batch_size %d: must be at least 1", c.BatchSize))
	}
	if c.BatchBytes < 1024 {
		errs = append(errs, fmt.Errorf("batch_bytes %d: must be at least 1024", c.BatchBytes))
	}
	if c.WriteTimeout <= 0 {
		errs = append(errs, fmt.Errorf("write_timeout %s: must be positive", c.WriteTimeout))
	}
	return errors.Join(errs...)
}

// ErrUnavailable marks a failure Kafka may recover from: the caller should
// answer 503 / UNAVAILABLE and let the client retry.
var ErrUnavailable = errors.New("kafka unavailable")

// Producer publishes events. It is safe for concurrent use; concurrent
// Publish calls share produce requests.
type Producer struct {
	cfg Config
	w   *kafka.Writer

	mu     sync.Mutex
	closed bool
}

// New builds a producer. It does not dial; EnsureTopic does.
func New(cfg Config) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("producer config: %w", err)
	}
	w := &kafka.Writer{
		Addr:         kafka.TCP(cfg.Brokers...),
		Topic:        cfg.Topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: cfg.BatchTimeout,
		BatchSize:    cfg.BatchSize,
		BatchBytes:   cfg.BatchBytes,
		WriteTimeout: cfg.WriteTimeout,
		ReadTimeout:  cfg.WriteTimeout,
		MaxAttempts:  3,
		Compression:  kafka.Lz4,
		// No auto-creation through metadata requests: EnsureTopic creates
		// the topic with the configured partition count.
		AllowAutoTopicCreation: false,
	}
	return &Producer{cfg: cfg, w: w}, nil
}

// EnsureTopic creates the topic when it is missing.
func (p *Producer) EnsureTopic(ctx context.Context) error {
	return bus.EnsureTopic(ctx, p.cfg.Brokers, p.cfg.EventsTopic())
}

// Key returns the partition key of an event: its flow item, else its trace,
// else its own id.
func Key(e *telemetry.Event) string {
	switch {
	case e.FlowKey != "":
		return e.Flow + "\x00" + e.FlowKey
	case e.TraceID != "":
		return e.TraceID
	default:
		return e.ID
	}
}

// Publish writes events and returns once all are acknowledged by every
// in-sync replica. On failure some records may have been written; callers
// answer with a retryable error and the deterministic event ids make the
// retry harmless.
func (p *Producer) Publish(ctx context.Context, events []telemetry.Event) error {
	if len(events) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, len(events))
	var buf []byte
	for i := range events {
		e := &events[i]
		start := len(buf)
		buf = e.AppendJSON(buf)
		msgs[i] = kafka.Message{Key: []byte(Key(e)), Value: buf[start:len(buf):len(buf)]}
		if e.ExperimentID != "" {
			msgs[i].Headers = []kafka.Header{{Key: telemetry.AttrExperimentID, Value: []byte(e.ExperimentID)}, {Key: telemetry.AttrCohort, Value: []byte(e.Cohort.String())}}
		}
	}
	return p.WriteMessages(ctx, msgs...)
}

// WriteMessages writes raw records (tests write undecodable ones).
func (p *Producer) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	if err := p.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("%w: write %d records to %s: %w", ErrUnavailable, len(msgs), p.cfg.Topic, err)
	}
	return nil
}

// Stats returns the writer's counters since the last call.
func (p *Producer) Stats() kafka.WriterStats { return p.w.Stats() }

// Close flushes pending writes and closes connections. Safe to call twice.
func (p *Producer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("close kafka writer: %w", err)
	}
	return nil
}
