// Package produce writes tagged events to Kafka with kafka-go: one record per
// event, its value the event's JSON wire form, keyed so one flow item or one
// trace stays in one partition. Publish returns only when Kafka acknowledged
// every record (acks=all), so callers answer their clients honestly.
package produce

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Config configures the producer.
type Config struct {
	// Brokers are the bootstrap brokers. Default: $STEADYSTATE_KAFKA_BROKERS or 127.0.0.1:9092.
	Brokers []string `yaml:"brokers"`
	// Topic receives the events. Default: steadystate.events.
	Topic string `yaml:"topic"`
	// Partitions is the partition count used when the topic must be created. Default: 6.
	Partitions int `yaml:"partitions"`
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

// EnvBrokers names the variable with the default brokers.
const EnvBrokers = "STEADYSTATE_KAFKA_BROKERS"

// DefaultBrokers returns $STEADYSTATE_KAFKA_BROKERS or 127.0.0.1:9092.
func DefaultBrokers() []string {
	if v := strings.TrimSpace(getenv(EnvBrokers)); v != "" {
		return strings.Split(v, ",")
	}
	return []string{"127.0.0.1:9092"}
}

// NewDefaultConfig returns the defaults.
func NewDefaultConfig() Config {
	return Config{
		Brokers: DefaultBrokers(), Topic: "steadystate.events", Partitions: 6,
		BatchTimeout: 2 * time.Millisecond, BatchSize: 2000, BatchBytes: 1 << 20, WriteTimeout: 5 * time.Second,
	}
}

// Validate checks the config without dialling.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: at least one is required"))
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("topic: must not be empty"))
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("partitions %d: must be at least 1", c.Partitions))
	}
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
	return EnsureTopic(ctx, p.cfg.Brokers, p.cfg.Topic, p.cfg.Partitions)
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

// WriteMessages writes raw records (used for dead letters and tests).
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

// EnsureTopic creates a topic with the given partition count if it does not
// exist, and waits until every partition has a leader.
func EnsureTopic(ctx context.Context, brokers []string, name string, partitions int) error {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{name}})
	if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) > 0 {
		return nil
	}
	conn, err := controllerConn(ctx, brokers)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.CreateTopics(kafka.TopicConfig{Topic: name, NumPartitions: partitions, ReplicationFactor: 1})
	if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{name}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) >= 1 {
			ready := true
			for _, p := range md.Topics[0].Partitions {
				if p.Leader.ID < 0 || p.Error != nil {
					ready = false
				}
			}
			if ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s has no leaders yet: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// DeleteTopic deletes a topic (tests and tools).
func DeleteTopic(ctx context.Context, brokers []string, name string) error {
	conn, err := controllerConn(ctx, brokers)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.DeleteTopics(name); err != nil {
		return fmt.Errorf("delete topic %s: %w", name, err)
	}
	return nil
}

func controllerConn(ctx context.Context, brokers []string) (*kafka.Conn, error) {
	var d kafka.Dialer
	var conn *kafka.Conn
	var err error
	for _, b := range brokers {
		if conn, err = d.DialContext(ctx, "tcp", b); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dial kafka %v: %w", brokers, err)
	}
	ctrl, err := conn.Controller()
	_ = conn.Close()
	if err != nil {
		return nil, fmt.Errorf("find kafka controller: %w", err)
	}
	cc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		return nil, fmt.Errorf("dial kafka controller: %w", err)
	}
	return cc, nil
}
