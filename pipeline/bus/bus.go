// Package bus holds the Kafka settings every stage shares, in one place:
// the brokers ($STEADYSTATE_KAFKA_BROKERS), the events topic and how it is
// created (partitions, replication), the dead-letter topic and its writer.
// ingest serve (pipeline/produce), ingest sink (pipeline/sink) and the
// tests (internal/testkit/kafkatest) all take their Kafka settings from
// here.
package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EnvBrokers names the variable with the default brokers.
const EnvBrokers = "STEADYSTATE_KAFKA_BROKERS"

var getenv = os.Getenv

// DefaultBrokers returns $STEADYSTATE_KAFKA_BROKERS (comma separated) or
// 127.0.0.1:9092.
func DefaultBrokers() []string {
	if v := strings.TrimSpace(getenv(EnvBrokers)); v != "" {
		return strings.Split(v, ",")
	}
	return []string{"127.0.0.1:9092"}
}

// Config is where the events go through Kafka and how the topics are
// created when missing.
type Config struct {
	// Brokers are the bootstrap brokers. Default: $STEADYSTATE_KAFKA_BROKERS or 127.0.0.1:9092.
	Brokers []string `yaml:"brokers"`
	// Topic carries the events. Default: steadystate.events.
	Topic string `yaml:"topic"`
	// Partitions is the events topic's partition count when it must be
	// created. Default: 6.
	Partitions int `yaml:"partitions"`
	// Replication is the replication factor of topics created here; 3 on
	// a production cluster (with min.insync.replicas 2, acks=all then
	// survives a broker). Default: 1, for a single local broker.
	Replication int `yaml:"replication"`
	// DeadLetterTopic receives records that can never be inserted, with
	// their source topic, partition, offset, error and time as headers.
	// Default: <topic>.dlq.
	DeadLetterTopic string `yaml:"dead_letter_topic"`
}

// NewDefaultConfig returns the defaults.
func NewDefaultConfig() Config {
	return Config{Brokers: DefaultBrokers(), Topic: "steadystate.events", Partitions: 6, Replication: 1}
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
	if c.Replication < 1 {
		errs = append(errs, fmt.Errorf("replication %d: must be at least 1", c.Replication))
	}
	if c.DeadLetterTopic == c.Topic && c.Topic != "" {
		errs = append(errs, fmt.Errorf("dead_letter_topic %q: must differ from topic", c.DeadLetterTopic))
	}
	return errors.Join(errs...)
}

// DeadLetter is the dead-letter topic's name.
func (c Config) DeadLetter() string {
	if c.DeadLetterTopic != "" {
		return c.DeadLetterTopic
	}
	return c.Topic + ".dlq"
}

// TopicSpec says how to create a topic.
type TopicSpec struct {
	Name        string
	Partitions  int
	Replication int
}

// EventsTopic is the events topic as configured.
func (c Config) EventsTopic() TopicSpec {
	return TopicSpec{Name: c.Topic, Partitions: c.Partitions, Replication: c.Replication}
}

// DeadLetterTopicSpec is the dead-letter topic: one partition (it is read
// by people, rarely), replicated like the events.
func (c Config) DeadLetterTopicSpec() TopicSpec {
	return TopicSpec{Name: c.DeadLetter(), Partitions: 1, Replication: c.Replication}
}

// NewTransport returns a kafka-go transport of one's own. A kafka.Client
// or kafka.Writer without one shares kafka.DefaultTransport, whose
// connection pools (a metadata goroutine per broker set and one per
// connection) outlive every Close; each user here owns its transport and
// closes it with CloseIdleConnections when it closes, so nothing of it
// runs after shutdown (goleak checks that in the serve, sink and produce
// tests).
func NewTransport() *kafka.Transport {
	return &kafka.Transport{Dial: (&net.Dialer{Timeout: 3 * time.Second}).DialContext}
}

// NewWaitTransport is NewTransport for a client that polls metadata until
// a change shows (a new topic's leaders, its in-sync replicas): a kafka-go
// client answers Metadata from its transport's cache, refreshed every 6 s
// by default (randomized below that), so a poll saw a change up to 6 s
// late; this one's cache is at most waitMetadataTTL old. Measured on the
// local stack (2026-12-01), EnsureTopic of a new topic: 0.24-6.1 s (5
// topics: 4.56, 5.76, 0.24, 2.75, 6.07 s) with the default, 0.138-0.146 s
// with 100 ms.
func NewWaitTransport() *kafka.Transport {
	t := NewTransport()
	t.MetadataTTL = waitMetadataTTL
	return t
}

// waitMetadataTTL bounds how old NewWaitTransport's metadata is.
const waitMetadataTTL = 100 * time.Millisecond

// ClientOpts are the franz-go client options every franz-go user here
// starts from: the bootstrap brokers, a dial timeout of 3s like
// NewTransport's, and no topic auto-creation (EnsureTopic creates topics
// with the configured partitions). The caller adds what its role needs.
func (c Config) ClientOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.Dialer((&net.Dialer{Timeout: 3 * time.Second}).DialContext),
	}
}

// EnsureTopic creates a topic if it does not exist, and waits until every
// partition has a leader that serves it. An existing topic is left as it
// is. A broker announces a new partition's leader in its metadata before
// that leader has created the partition's log, and until then produce and
// fetch requests fail with UNKNOWN_TOPIC_OR_PARTITION; asking each leader
// for its partitions' offsets waits that out.
//
// The wait polls through NewWaitTransport: with a default transport a new
// topic showed up to 6 s late, and every sink creating its dead-letter
// topic paid that before its first fetch (the first 1-3 s of each of
// ingestbench's latency runs waited for it).
func EnsureTopic(ctx context.Context, brokers []string, t TopicSpec) error {
	transport := NewWaitTransport()
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: transport}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{t.Name}})
	if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) > 0 {
		return nil
	}
	conn, err := controllerConn(ctx, brokers)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.CreateTopics(kafka.TopicConfig{Topic: t.Name, NumPartitions: t.Partitions, ReplicationFactor: max(t.Replication, 1)})
	if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", t.Name, err)
	}
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{t.Name}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) >= 1 {
			ready := true
			for _, p := range md.Topics[0].Partitions {
				if p.Leader.ID < 0 || p.Error != nil {
					ready = false
				}
			}
			if ready && servesOffsets(ctx, client, t.Name, md.Topics[0].Partitions) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s has no leaders serving it yet: %w", t.Name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// servesOffsets reports whether every partition's leader answers an
// offsets request for it (its log exists).
func servesOffsets(ctx context.Context, client *kafka.Client, topic string, parts []kafka.Partition) bool {
	ids := make([]int, 0, len(parts))
	for _, p := range parts {
		ids = append(ids, p.ID)
	}
	hwm, err := HighWaterMarks(ctx, client, topic, ids)
	return err == nil && len(hwm) == len(ids)
}

// HighWaterMarks returns the high-water mark (the next offset to be
// written) of each partition of topic in parts.
func HighWaterMarks(ctx context.Context, client *kafka.Client, topic string, parts []int) (map[int]int64, error) {
	reqs := make([]kafka.OffsetRequest, 0, len(parts))
	for _, p := range parts {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	lo, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("high-water marks of topic %s: %w", topic, err)
	}
	hwm := make(map[int]int64, len(parts))
	for _, po := range lo.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("high-water mark of %s/%d: %w", topic, po.Partition, po.Error)
		}
		hwm[po.Partition] = po.LastOffset
	}
	return hwm, nil
}

// Offsets returns, per partition of topic in parts, the high-water mark
// and group's committed offset (-1: none).
func Offsets(ctx context.Context, client *kafka.Client, topic, group string, parts []int) (hwm, committed map[int]int64, err error) {
	hwm, err = HighWaterMarks(ctx, client, topic, parts)
	if err != nil {
		return nil, nil, err
	}
	of, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return nil, nil, fmt.Errorf("offsets of group %s: %w", group, err)
	}
	if of.Error != nil {
		return nil, nil, fmt.Errorf("offsets of group %s: %w", group, of.Error)
	}
	committed = make(map[int]int64, len(parts))
	for _, p := range of.Topics[topic] {
		if p.Error != nil {
			return nil, nil, fmt.Errorf("offset of group %s on %s/%d: %w", group, topic, p.Partition, p.Error)
		}
		committed[p.Partition] = p.CommittedOffset
	}
	return hwm, committed, nil
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

// Ping dials the first reachable broker (readiness checks).
func Ping(ctx context.Context, brokers []string) error {
	var d kafka.Dialer
	var err error
	for _, b := range brokers {
		var conn *kafka.Conn
		if conn, err = d.DialContext(ctx, "tcp", b); err == nil {
			return conn.Close()
		}
	}
	return fmt.Errorf("dial kafka %v: %w", brokers, err)
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

// DeadLetterWriter writes records that can never be inserted to the
// dead-letter topic, acknowledged by every in-sync replica. It is safe
// for concurrent use.
type DeadLetterWriter struct {
	topic     string
	w         *kafka.Writer
	transport *kafka.Transport
}

// NewDeadLetterWriter builds the writer; it does not dial.
func NewDeadLetterWriter(c Config) *DeadLetterWriter {
	transport := NewTransport()
	return &DeadLetterWriter{topic: c.DeadLetter(), transport: transport, w: &kafka.Writer{
		Addr:                   kafka.TCP(c.Brokers...),
		Transport:              transport,
		Topic:                  c.DeadLetter(),
		Balancer:               &kafka.Hash{},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           2 * time.Millisecond,
		BatchSize:              2000,
		BatchBytes:             1 << 20,
		WriteTimeout:           5 * time.Second,
		ReadTimeout:            5 * time.Second,
		MaxAttempts:            3,
		Compression:            kafka.Lz4,
		AllowAutoTopicCreation: false,
	}}
}

// Write writes the records and returns once they are acknowledged.
func (d *DeadLetterWriter) Write(ctx context.Context, msgs ...kafka.Message) error {
	if err := d.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("write %d records to %s: %w", len(msgs), d.topic, err)
	}
	return nil
}

// Close flushes and closes the connections.
func (d *DeadLetterWriter) Close() error {
	defer d.transport.CloseIdleConnections()
	if err := d.w.Close(); err != nil {
		return fmt.Errorf("close dead-letter writer: %w", err)
	}
	return nil
}
