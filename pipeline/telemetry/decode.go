package telemetry

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// decoder is a strict parser for the wire form only: one object whose keys
// are events columns, with string, integer, boolean-as-0/1 and string-array
// values. Anything else is an error. The sink decodes every event, so it
// allocates almost nothing: data is one string copy of the record, every
// string without escapes is a substring of it, and string arrays are carved
// from arena when one is given.
type decoder struct {
	data  string
	pos   int
	arena *[]string
}

var errSyntax = errors.New("invalid JSON")

func (d *decoder) fail(format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", errSyntax, d.pos, fmt.Sprintf(format, args...))
}

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) expect(c byte) error {
	d.ws()
	if d.pos >= len(d.data) || d.data[d.pos] != c {
		return d.fail("want %q", c)
	}
	d.pos++
	return nil
}

func (d *decoder) peek() byte {
	d.ws()
	if d.pos >= len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

func (d *decoder) null() bool {
	if d.peek() == 'n' && strings.HasPrefix(d.data[d.pos:], "null") {
		d.pos += 4
		return true
	}
	return false
}

func (d *decoder) str() (string, error) {
	if err := d.expect('"'); err != nil {
		return "", err
	}
	start := d.pos
	// Fast path: no escapes, a substring of the record.
	var high byte
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			s := d.data[start:d.pos]
			d.pos++
			if high >= utf8.RuneSelf && !utf8.ValidString(s) {
				s = strings.ToValidUTF8(s, "\uFFFD")
			}
			return s, nil
		}
		high |= c
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", d.fail("control character in string")
		}
		d.pos++
	}
	var b []byte
	b = append(b, d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			s := string(b)
			if !utf8.ValidString(s) {
				s = strings.ToValidUTF8(s, "\uFFFD")
			}
			return s, nil
		case c < 0x20:
			return "", d.fail("control character in string")
		case c != '\\':
			b = append(b, c)
			d.pos++
			continue
		}
		d.pos++
		if d.pos >= len(d.data) {
			break
		}
		e := d.data[d.pos]
		d.pos++
		if c, ok := SimpleEscape(e); ok {
			b = append(b, c)
			continue
		}
		switch e {
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
					d.pos += 2
					var ok2 bool
					if r2, ok2 = d.hex4(); !ok2 {
						return "", d.fail("bad \\u escape")
					}
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
				} else {
					r = utf8.RuneError
					if r2 >= 0 {
						b = utf8.AppendRune(b, r)
						r = r2
						if utf16.IsSurrogate(r) {
							r = utf8.RuneError
						}
					}
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", d.fail("bad escape \\%c", e)
		}
	}
	return "", d.fail("unterminated string")
}

func (d *decoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	v, err := strconv.ParseUint(d.data[d.pos:d.pos+4], 16, 16)
	if err != nil {
		return 0, false
	}
	d.pos += 4
	return rune(v), true
}

// integer reads a JSON integer literal (no fraction or exponent).
func (d *decoder) integer(field string) (string, error) {
	d.ws()
	start := d.pos
	if d.pos < len(d.data) && d.data[d.pos] == '-' {
		d.pos++
	}
	digits := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	if d.pos == digits {
		return "", fmt.Errorf("decode event: field %q: want an integer", field)
	}
	if d.pos < len(d.data) && (d.data[d.pos] == '.' || d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		return "", fmt.Errorf("decode event: field %q: want an integer, got a fraction", field)
	}
	return d.data[start:d.pos], nil
}

func (d *decoder) int64(field string) (int64, error) {
	if d.null() {
		return 0, nil
	}
	s, err := d.integer(field)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("decode event: field %q: %w", field, err)
	}
	return v, nil
}

func (d *decoder) uint(field string, bits int) (uint64, error) {
	if d.null() {
		return 0, nil
	}
	s, err := d.integer(field)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("decode event: field %q: %w", field, err)
	}
	return v, nil
}

func (d *decoder) strField(field string) (string, error) {
	if d.null() {
		return "", nil
	}
	if d.peek() != '"' {
		return "", fmt.Errorf("decode event: field %q: want a string", field)
	}
	return d.str()
}

func (d *decoder) strArray(field string) ([]string, error) {
	if d.null() {
		return nil, nil
	}
	if d.peek() != '[' {
		return nil, fmt.Errorf("decode event: field %q: want an array of strings", field)
	}
	d.pos++
	if d.peek() == ']' {
		d.pos++
		return []string{}, nil
	}
	var local []string
	arena := &local
	if d.arena != nil {
		arena = d.arena
	}
	first := len(*arena)
	for {
		if d.peek() != '"' {
			return nil, fmt.Errorf("decode event: field %q: want an array of strings", field)
		}
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		*arena = append(*arena, s)
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return (*arena)[first:len(*arena):len(*arena)], nil
		default:
			return nil, d.fail("want , or ] in %q", field)
		}
	}
}

func (d *decoder) kind(field string, k *Kind) error {
	s, err := d.strField(field)
	if err != nil {
		return err
	}
	if err := k.parse(s); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	return nil
}

func (d *decoder) cohort(field string, c *Cohort) error {
	s, err := d.strField(field)
	if err != nil {
		return err
	}
	v, err := ParseCohort(s)
	if err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	*c = v
	return nil
}

func (d *decoder) status(field string, st *Status) error {
	s, err := d.strField(field)
	if err != nil {
		return err
	}
	if err := st.parse(s); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	return nil
}

// decodeWire parses the wire form into e; arena, when not nil, backs e's
// string arrays.
func decodeWire(data string, e *Event, arena *[]string) error {
	d := decoder{data: data, arena: arena}
	if err := d.expect('{'); err != nil {
		return err
	}
	*e = Event{}
	var synthetic, isError uint64
	if d.peek() == '}' {
		d.pos++
	} else {
		next := ColEventID // the key AppendJSON writes next
		for {
			// The wire form has its keys in column order: the expected key
			// is one comparison, no key scan or string switch.
			var col Col
			var key string
			d.ws()
			if q := wireKeys[next]; next < wireColumns && strings.HasPrefix(d.data[d.pos:], q) {
				col, key = next, Columns[next]
				d.pos += len(q)
			} else {
				var err error
				if key, err = d.str(); err != nil {
					return err
				}
				if col = wireColumn(key); col < 0 {
					return fmt.Errorf("decode event: unknown field %q", truncate(key))
				}
			}
			next = min(col+1, wireColumns)
			if err := d.expect(':'); err != nil {
				return err
			}
			if err := d.field(col, key, e, &synthetic, &isError); err != nil {
				return err
			}
			c := d.peek()
			if c == ',' {
				d.pos++
				continue
			}
			if c == '}' {
				d.pos++
				break
			}
			return d.fail("want , or }")
		}
	}
	if d.peek() != 0 {
		return fmt.Errorf("decode event: %w", errTrailing)
	}
	if synthetic > 1 || isError > 1 {
		return errors.New("decode event: synthetic and is_error must be 0 or 1")
	}
	e.Synthetic, e.IsError = synthetic == 1, isError == 1
	return nil
}

// wireColumns are the columns of the wire form: all but the Kafka
// position, which the sink adds.
const wireColumns = ColKafkaPartition

// wireKeys are the wire form's keys, quoted, in column order (plus an
// empty entry, so wireKeys[wireColumns] is valid).
var wireKeys = func() [wireColumns + 1]string {
	var out [wireColumns + 1]string
	for c := range wireColumns {
		out[c] = `"` + Schema[c].Name + `"`
	}
	return out
}()

// wireColumn is the column of a wire key, or -1.
func wireColumn(key string) Col {
	for c := range wireColumns {
		if Schema[c].Name == key {
			return c
		}
	}
	return -1
}

func (d *decoder) field(col Col, key string, e *Event, synthetic, isError *uint64) error {
	var err error
	switch col {
	case ColEventID:
		e.ID, err = d.strField(key)
	case ColEventTime, ColIngestTime:
		_, err = d.int64(key) // derived columns
	case ColEventTimeNs:
		e.TimeNs, err = d.int64(key)
	case ColIngestTimeNs:
		e.IngestNs, err = d.int64(key)
	case ColKind:
		err = d.kind(key, &e.Kind)
	case ColService:
		e.Service, err = d.strField(key)
	case ColName:
		e.Name, err = d.strField(key)
	case ColTraceID:
		e.TraceID, err = d.strField(key)
	case ColSpanID:
		e.SpanID, err = d.strField(key)
	case ColParentSpanID:
		e.ParentSpanID, err = d.strField(key)
	case ColFlow:
		e.Flow, err = d.strField(key)
	case ColFlowKey:
		e.FlowKey, err = d.strField(key)
	case ColStage:
		e.Stage, err = d.strField(key)
	case ColExperimentID:
		e.ExperimentID, err = d.strField(key)
	case ColCohort:
		err = d.cohort(key, &e.Cohort)
	case ColSynthetic:
		*synthetic, err = d.uint(key, 8)
	case ColStatus:
		err = d.status(key, &e.Status)
	case ColIsError:
		*isError, err = d.uint(key, 8)
	case ColErrorType:
		e.ErrorType, err = d.strField(key)
	case ColHTTPStatus:
		var v uint64
		v, err = d.uint(key, 16)
		e.HTTPStatus = uint16(v)
	case ColDurationNs:
		e.DurationNs, err = d.uint(key, 64)
	case ColSubjectID:
		e.SubjectID, err = d.strField(key)
	case ColSeverity:
		e.Severity, err = d.strField(key)
	case ColAttrKeys:
		e.AttrKeys, err = d.strArray(key)
	case ColAttrValues:
		e.AttrValues, err = d.strArray(key)
	case ColResKeys:
		e.ResKeys, err = d.strArray(key)
	case ColResValues:
		e.ResValues, err = d.strArray(key)
	case ColBody:
		e.Body, err = d.strField(key)
	default:
		return fmt.Errorf("decode event: unknown field %q", truncate(key))
	}
	return err
}

func (k *Kind) parse(s string) error {
	v, err := ParseKind(s)
	if err != nil {
		return err
	}
	*k = v
	return nil
}

func (s *Status) parse(str string) error {
	v, err := ParseStatus(str)
	if err != nil {
		return err
	}
	*s = v
	return nil
}
