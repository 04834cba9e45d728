package telemetry

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Event is one row of the events table: a span, a log record, a structured
// JSON event or an alert notification, normalized and tagged at ingest.
//
// Its wire form (Kafka record value) is one JSON object whose keys are the
// events table's column names, so ClickHouse's own Kafka engine can read the
// same topic with FORMAT JSONEachRow.
type Event struct {
	ID           string   `json:"event_id"`
	TimeNs       int64    `json:"event_time_ns"`
	IngestNs     int64    `json:"ingest_time_ns"`
	Kind         Kind     `json:"kind"`
	Service      string   `json:"service"`
	Name         string   `json:"name"`
	TraceID      string   `json:"trace_id"`
	SpanID       string   `json:"span_id"`
	ParentSpanID string   `json:"parent_span_id"`
	Flow         string   `json:"flow"`
	FlowKey      string   `json:"flow_key"`
	Stage        string   `json:"stage"`
	ExperimentID string   `json:"experiment_id"`
	Cohort       Cohort   `json:"cohort"`
	Synthetic    bool     `json:"synthetic"`
	Status       Status   `json:"status"`
	IsError      bool     `json:"is_error"`
	ErrorType    string   `json:"error_type"`
	HTTPStatus   uint16   `json:"http_status"`
	DurationNs   uint64   `json:"duration_ns"`
	SubjectID    string   `json:"subject_id"`
	Severity     string   `json:"severity"`
	AttrKeys     []string `json:"attr_keys"`
	AttrValues   []string `json:"attr_values"`
	ResKeys      []string `json:"res_keys"`
	ResValues    []string `json:"res_values"`
	Body         string   `json:"body"`
}

// Values returns the row for a clickhouse-go batch Append, in Columns order.
// dst is reused when it has the capacity.
func (e *Event) Values(dst []any, partition int32, offset int64) []any {
	dst = append(dst[:0],
		e.ID, time.Unix(0, e.TimeNs).UTC(), uint64(e.TimeNs), time.Unix(0, e.IngestNs).UTC(), uint64(e.IngestNs),
		e.Kind.String(), e.Service, e.Name, e.TraceID, e.SpanID, e.ParentSpanID, e.Flow, e.FlowKey, e.Stage,
		e.ExperimentID, e.Cohort.String(), b2u(e.Synthetic), e.Status.String(), b2u(e.IsError), e.ErrorType,
		e.HTTPStatus, e.DurationNs, e.SubjectID, e.Severity, nonNil(e.AttrKeys), nonNil(e.AttrValues),
		nonNil(e.ResKeys), nonNil(e.ResValues), e.Body, partition, offset)
	return dst
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Attr returns the value of a record attribute.
func (e *Event) Attr(key string) (string, bool) {
	for i, k := range e.AttrKeys {
		if k == key {
			return e.AttrValues[i], true
		}
	}
	return "", false
}

// SetAttr sets or replaces a record attribute.
func (e *Event) SetAttr(key, value string) {
	for i, k := range e.AttrKeys {
		if k == key {
			e.AttrValues[i] = value
			return
		}
	}
	e.AttrKeys = append(e.AttrKeys, key)
	e.AttrValues = append(e.AttrValues, value)
}

// AppendJSON appends the wire form of e to dst. It is hand-written because
// it runs once per event on the ingest hot path.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"event_id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"event_time":`...)
	dst = appendTime(dst, e.TimeNs, `,"event_time_ns":`)
	dst = append(dst, `,"ingest_time":`...)
	dst = appendTime(dst, e.IngestNs, `,"ingest_time_ns":`)
	dst = append(dst, `,"kind":"`...)
	dst = append(dst, e.Kind.String()...)
	dst = append(dst, `","service":`...)
	dst = appendString(dst, e.Service)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, e.Name)
	dst = append(dst, `,"trace_id":`...)
	dst = appendString(dst, e.TraceID)
	dst = append(dst, `,"span_id":`...)
	dst = appendString(dst, e.SpanID)
	dst = append(dst, `,"parent_span_id":`...)
	dst = appendString(dst, e.ParentSpanID)
	dst = append(dst, `,"flow":`...)
	dst = appendString(dst, e.Flow)
	dst = append(dst, `,"flow_key":`...)
	dst = appendString(dst, e.FlowKey)
	dst = append(dst, `,"stage":`...)
	dst = appendString(dst, e.Stage)
	dst = append(dst, `,"experiment_id":`...)
	dst = appendString(dst, e.ExperimentID)
	dst = append(dst, `,"cohort":"`...)
	dst = append(dst, e.Cohort.String()...)
	dst = append(dst, `","synthetic":`...)
	dst = append(dst, '0'+b2u(e.Synthetic))
	dst = append(dst, `,"status":"`...)
	dst = append(dst, e.Status.String()...)
	dst = append(dst, `","is_error":`...)
	dst = append(dst, '0'+b2u(e.IsError))
	dst = append(dst, `,"error_type":`...)
	dst = appendString(dst, e.ErrorType)
	dst = append(dst, `,"http_status":`...)
	dst = strconv.AppendUint(dst, uint64(e.HTTPStatus), 10)
	dst = append(dst, `,"duration_ns":`...)
	dst = strconv.AppendUint(dst, e.DurationNs, 10)
	dst = append(dst, `,"subject_id":`...)
	dst = appendString(dst, e.SubjectID)
	dst = append(dst, `,"severity":`...)
	dst = appendString(dst, e.Severity)
	dst = append(dst, `,"attr_keys":`...)
	dst = appendStrings(dst, e.AttrKeys)
	dst = append(dst, `,"attr_values":`...)
	dst = appendStrings(dst, e.AttrValues)
	dst = append(dst, `,"res_keys":`...)
	dst = appendStrings(dst, e.ResKeys)
	dst = append(dst, `,"res_values":`...)
	dst = appendStrings(dst, e.ResValues)
	dst = append(dst, `,"body":`...)
	dst = appendString(dst, e.Body)
	return append(dst, '}')
}

// appendTime appends a time's whole seconds (floored), then key, then
// the time in nanoseconds. From one second after the epoch on, the
// seconds are the nanoseconds' digits but the last nine, so the number is
// formatted once (formatting both was a tenth of the encoding's
// instructions, BenchmarkStageEncode).
func appendTime(dst []byte, ns int64, key string) []byte {
	if ns < 1e9 {
		dst = strconv.AppendInt(dst, floorDiv(ns, 1e9), 10)
		dst = append(dst, key...)
		return strconv.AppendInt(dst, ns, 10)
	}
	var buf [20]byte
	digits := strconv.AppendInt(buf[:0], ns, 10)
	dst = append(dst, digits[:len(digits)-9]...)
	dst = append(dst, key...)
	return append(dst, digits...)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a look (most values
		// have none): a fifth of serve's record encoding was this loop.
		for i+8 <= len(s) && plain8(Load64(s, i)) {
			i += 8
		}
		// The last (fewer than eight) bytes as the string's last eight,
		// the ones before them already seen plain.
		if i >= len(s) || len(s) >= 8 && i > len(s)-8 && plain8(Load64(s, len(s)-8)) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Load64 is the 8 bytes of s at i (i+8 <= len(s)), little-endian (the
// compiler makes it one load).
// (The one slice expression is its only bounds check: indexing s at i+1
// .. i+7 instead kept a check per byte, which the compiler cannot prove
// away when i+7 may overflow.)
func Load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

const (
	ones8  = 0x0101010101010101
	highs8 = 0x8080808080808080
)

// plain8 says whether none of the 8 bytes in x needs appendString's look:
// a control byte (< 0x20), a quote, a backslash or a non-ASCII byte.
func plain8(x uint64) bool { return Special8(x) == 0 }

// Special8 marks, with the byte's high bit, the bytes of x (8 bytes read
// little-endian) a JSON string scanner must look at: a control byte
// (< 0x20), a quote, a backslash or a non-ASCII byte. The lowest marked
// byte is always such a byte (bits.TrailingZeros64(m)/8 is its index);
// above it a borrow may mark a byte that is not (each term is exact as
// long as the byte's own high bit is clear, which the last term covers).
func Special8(x uint64) uint64 {
	ctl := (x - 0x20*ones8) &^ x
	q := x ^ ('"' * ones8)
	q = (q - ones8) &^ q
	bs := x ^ ('\\' * ones8)
	bs = (bs - ones8) &^ bs
	return (ctl | q | bs | x) & highs8
}

var errTrailing = errors.New("trailing data after the JSON object")

// DecodeJSON parses the wire form strictly: unknown keys, wrong types,
// trailing data and invalid enum values are errors (the sink dead-letters
// such records). e's strings share one copy of data.
func DecodeJSON(data []byte, e *Event) error {
	return decodeJSON(string(data), e, nil)
}

// Decoder decodes wire records like DecodeJSON, carving the string arrays
// of successive events from one reused backing store: a batch of events
// costs a handful of allocations instead of several per event. Events it
// decoded must not be used after Reset. The zero value is ready to use.
type Decoder struct {
	arena []string
}

// Decode decodes one record into e, as DecodeJSON does.
func (d *Decoder) Decode(data []byte, e *Event) error {
	return decodeJSON(string(data), e, &d.arena)
}

// DecodeString is Decode for a record already held as a string: e's
// strings are substrings of data, with no copy at all.
func (d *Decoder) DecodeString(data string, e *Event) error {
	return decodeJSON(data, e, &d.arena)
}

// Reset lets the next events reuse the backing store.
func (d *Decoder) Reset() {
	clear(d.arena) // drop the references to the old records
	d.arena = d.arena[:0]
}

func decodeJSON(data string, e *Event, arena *[]string) error {
	if err := decodeWire(data, e, arena); err != nil {
		if errors.Is(err, errSyntax) {
			return fmt.Errorf("decode event: %w", err)
		}
		return err
	}
	if e.ID == "" {
		return errors.New("decode event: event_id is empty")
	}
	if len(e.AttrKeys) != len(e.AttrValues) || len(e.ResKeys) != len(e.ResValues) {
		return errors.New("decode event: attribute key and value arrays differ in length")
	}
	return nil
}

// MarshalJSON writes the name of the kind.
func (k Kind) MarshalJSON() ([]byte, error) { return []byte(`"` + k.String() + `"`), nil }

// UnmarshalJSON reads the name of a kind.
func (k *Kind) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("kind: %w", err)
	}
	return k.parse(s)
}

// MarshalJSON writes the name of the cohort.
func (c Cohort) MarshalJSON() ([]byte, error) { return []byte(`"` + c.String() + `"`), nil }

// UnmarshalJSON reads the name of a cohort.
func (c *Cohort) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("cohort: %w", err)
	}
	v, err := ParseCohort(s)
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// MarshalJSON writes the name of the status.
func (s Status) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// UnmarshalJSON reads the name of a status.
func (s *Status) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	return s.parse(str)
}
