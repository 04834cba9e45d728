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
	"unsafe"

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
	// Compression of the record batches: none, gzip, snappy, lz4 or zstd.
	// Default: none. On one machine or a fast network it is pure CPU:
	// the producer compresses, the broker and every consumer decompress
	// (BenchmarkProduceSettings measures it).
	Compression string `yaml:"compression"`
	// WriteTimeout bounds one produce request to a broker. Default: 5s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// RetryFor is how long Publish keeps retrying the records Kafka has not
	// acknowledged yet after a retriable failure (a dead partition leader,
	// not enough in-sync replicas, a timeout), bounded also by the caller's
	// context. A broker that dies is only replaced as partition leader once
	// the controller stops hearing from it (broker.session.timeout.ms), and
	// until then every request that touches one of its partitions fails:
	// without these retries each of them would be answered "retry later"
	// although the cluster recovers within seconds. Default: 10s.
	RetryFor time.Duration `yaml:"retry_for"`
	_        struct{}
}

// NewDefaultConfig returns the defaults.
func NewDefaultConfig() Config {
	return Config{
		Config:       bus.NewDefaultConfig(),
		BatchTimeout: 2 * time.Millisecond, BatchSize: 2000, BatchBytes: 1 << 20, Compression: "none", WriteTimeout: 5 * time.Second,
		RetryFor: 10 * time.Second,
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
	if _, err := codec(c.Compression); err != nil {
		errs = append(errs, err)
	}
	if c.WriteTimeout <= 0 {
		errs = append(errs, fmt.Errorf("write_timeout %s: must be positive", c.WriteTimeout))
	}
	if c.RetryFor < 0 {
		errs = append(errs, fmt.Errorf("retry_for %s: must not be negative", c.RetryFor))
	}
	return errors.Join(errs...)
}

func codec(name string) (kafka.Compression, error) {
	switch name {
	case "", "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("compression %q: want none, gzip, snappy, lz4 or zstd", name)
}

// ErrUnavailable marks a failure Kafka may recover from: the caller should
// answer 503 / UNAVAILABLE and let the client retry.
var ErrUnavailable = errors.New("kafka unavailable")

// Producer publishes events. It is safe for concurrent use; concurrent
// Publish calls share produce requests.
type Producer struct {
	cfg       Config
	w         *kafka.Writer
	transport *kafka.Transport

	mu     sync.Mutex
	closed bool
}

// New builds a producer. It does not dial; EnsureTopic does.
func New(cfg Config) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("producer config: %w", err)
	}
	compression, _ := codec(cfg.Compression)
	// kafka-go routes each record by cached cluster metadata and refreshes
	// it only on a timer (MetadataTTL, default 6s, jittered), not when a
	// broker answers "not leader" or refuses the connection: after a
	// leader dies the writer keeps sending to it until the next refresh.
	// One metadata request a second per producer is cheap and bounds that.
	transport := bus.NewTransport()
	transport.MetadataTTL = metadataTTL
	w := &kafka.Writer{
		Addr:         kafka.TCP(cfg.Brokers...),
		Transport:    transport,
		Topic:        cfg.Topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: cfg.BatchTimeout,
		BatchSize:    cfg.BatchSize,
		BatchBytes:   cfg.BatchBytes,
		WriteTimeout: cfg.WriteTimeout,
		ReadTimeout:  cfg.WriteTimeout,
		MaxAttempts:  3,
		Compression:  compression,
		// No auto-creation through metadata requests: EnsureTopic creates
		// the topic with the configured partition count.
		AllowAutoTopicCreation: false,
	}
	return &Producer{cfg: cfg, w: w, transport: transport}, nil
}

// metadataTTL is how stale the producer's view of partition leaders may be.
const metadataTTL = time.Second

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
	enc := encoders.Get().(*Encoder)
	if err := p.WriteMessages(ctx, enc.Messages(events)...); err != nil {
		// A write that gave up (a cancelled context) may still be in
		// flight inside kafka-go: its buffers are not reused.
		return err
	}
	if cap(enc.values) <= maxPooledBytes {
		encoders.Put(enc)
	}
	return nil
}

// maxPooledBytes keeps an unusually large request's buffers out of the pool.
const maxPooledBytes = 8 << 20

// Encoder turns events into Kafka records. Its buffers are reused from one
// call to the next: the records of a call share one value buffer, one key
// buffer and one header array, so a request of a thousand events costs a
// handful of allocations instead of several per event.
type Encoder struct {
	msgs    []kafka.Message
	values  []byte
	keys    []byte
	headers []kafka.Header
}

var encoders = sync.Pool{New: func() any { return new(Encoder) }}

// Messages returns the records of events: the value is the event's wire
// form, the key its partition key (Key), and events tagged with an
// experiment carry its id and cohort as headers. The records are valid
// until the next call; kafka-go's WriteMessages does not keep them after it
// returns.
func (enc *Encoder) Messages(events []telemetry.Event) []kafka.Message {
	// Size the buffers first: the records point into them, so they must
	// not move while they are filled.
	values, keys, headers := 0, 0, 0
	for i := range events {
		e := &events[i]
		values += wireSizeHint(e)
		keys += keyLen(e)
		if e.ExperimentID != "" {
			headers += 2
		}
	}
	if cap(enc.values) < values {
		enc.values = make([]byte, 0, values+values/4)
	}
	if cap(enc.keys) < keys {
		enc.keys = make([]byte, 0, keys)
	}
	if cap(enc.headers) < headers {
		enc.headers = make([]kafka.Header, 0, headers)
	}
	if cap(enc.msgs) < len(events) {
		enc.msgs = make([]kafka.Message, len(events))
	}
	enc.values, enc.keys, enc.headers, enc.msgs = enc.values[:0], enc.keys[:0], enc.headers[:0], enc.msgs[:len(events)]
	for i := range events {
		e := &events[i]
		start := len(enc.values)
		// When the hint was short (escapes) this reallocates: the earlier
		// values stay valid in the old array.
		enc.values = e.AppendJSON(enc.values)
		kstart := len(enc.keys)
		enc.keys = appendKey(enc.keys, e)
		msg := kafka.Message{Key: enc.keys[kstart:len(enc.keys):len(enc.keys)], Value: enc.values[start:len(enc.values):len(enc.values)]}
		if e.ExperimentID != "" {
			h := len(enc.headers)
			enc.headers = append(enc.headers,
				kafka.Header{Key: telemetry.AttrExperimentID, Value: unsafeBytes(e.ExperimentID)},
				kafka.Header{Key: telemetry.AttrCohort, Value: cohortBytes[e.Cohort]})
			msg.Headers = enc.headers[h:len(enc.headers):len(enc.headers)]
		}
		enc.msgs[i] = msg
	}
	return enc.msgs
}

// cohortBytes are the cohort header values, shared by every record.
var cohortBytes = func() map[telemetry.Cohort][]byte {
	m := map[telemetry.Cohort][]byte{}
	for _, c := range []telemetry.Cohort{telemetry.CohortNone, telemetry.CohortControl, telemetry.CohortExperiment} {
		m[c] = []byte(c.String())
	}
	return m
}()

// unsafeBytes views s as bytes without copying; kafka-go only reads header
// values.
func unsafeBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s)) //nolint:gosec // G103: read-only view, see above
}

func keyLen(e *telemetry.Event) int {
	switch {
	case e.FlowKey != "":
		return len(e.Flow) + 1 + len(e.FlowKey)
	case e.TraceID != "":
		return len(e.TraceID)
	default:
		return len(e.ID)
	}
}

func appendKey(dst []byte, e *telemetry.Event) []byte {
	switch {
	case e.FlowKey != "":
		dst = append(dst, e.Flow...)
		dst = append(dst, 0)
		return append(dst, e.FlowKey...)
	case e.TraceID != "":
		return append(dst, e.TraceID...)
	default:
		return append(dst, e.ID...)
	}
}

// wireSizeHint bounds the length of e's wire form from above unless a
// string needs escapes (520: the fixed part with the longest numbers).
func wireSizeHint(e *telemetry.Event) int {
	n := 520 + len(e.ID) + len(e.Service) + len(e.Name) + len(e.TraceID) + len(e.SpanID) + len(e.ParentSpanID) +
		len(e.Flow) + len(e.FlowKey) + len(e.Stage) + len(e.ExperimentID) + len(e.ErrorType) + len(e.SubjectID) +
		len(e.Severity) + len(e.Body)
	for _, ss := range [...][]string{e.AttrKeys, e.AttrValues, e.ResKeys, e.ResValues} {
		for _, s := range ss {
			n += len(s) + 3
		}
	}
	return n
}

// WriteMessages writes raw records (tests write undecodable ones). After a
// retriable failure it writes again the records Kafka did not acknowledge
// (kafka-go reports them one by one), with a growing pause, until all are
// acknowledged, an error is permanent, RetryFor has passed or ctx is done.
// A record whose acknowledgement was lost may be written twice; the event
// ids make the copy a duplicate every count collapses.
func (p *Producer) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	giveUp := time.Now().Add(p.cfg.RetryFor)
	pause := 100 * time.Millisecond
	pending, total := msgs, len(msgs)
	for attempt := 1; ; attempt++ {
		err := p.w.WriteMessages(ctx, pending...)
		if err == nil {
			return nil
		}
		pending = unacknowledged(pending, err)
		if !retriable(err) || ctx.Err() != nil || time.Now().Add(pause).After(giveUp) {
			return fmt.Errorf("%w: write %d records to %s: %d not acknowledged after %d attempts: %w",
				ErrUnavailable, total, p.cfg.Topic, len(pending), attempt, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: write %d records to %s: %d not acknowledged after %d attempts: %w",
				ErrUnavailable, total, p.cfg.Topic, len(pending), attempt, err)
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

// unacknowledged returns the records a failed write did not store: those
// with an error in kafka-go's per-record WriteErrors, else all of them.
func unacknowledged(msgs []kafka.Message, err error) []kafka.Message {
	var werrs kafka.WriteErrors
	if !errors.As(err, &werrs) || len(werrs) != len(msgs) {
		return msgs
	}
	out := make([]kafka.Message, 0, werrs.Count())
	for i, e := range werrs {
		if e != nil {
			out = append(out, msgs[i])
		}
	}
	return out
}

// retriable says whether writing again may succeed: not for a cancelled
// context, a record too large or a Kafka error the protocol calls
// non-retriable (an unknown or unauthorised topic, an invalid request);
// yes for the rest (dead or moved leaders, too few in-sync replicas,
// timeouts, refused or reset connections).
func retriable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		for _, e := range werrs {
			if e != nil && !retriable(e) {
				return false
			}
		}
		return true
	}
	var tooLarge kafka.MessageTooLargeError
	if errors.As(err, &tooLarge) {
		return false
	}
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return kerr.Temporary()
	}
	return true
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
	// The writer's connections stay in its transport's pool until closed
	// here (see bus.NewTransport).
	defer p.transport.CloseIdleConnections()
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("close kafka writer: %w", err)
	}
	return nil
}
