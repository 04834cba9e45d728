package tag

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// JSONEvents converts a body of structured JSON events: one object, an
// array of objects, or NDJSON (one object per line, blank lines skipped).
// The fields are documented in the package documentation. Records with
// problems are left out and listed, with their line (or array element), in
// a *RejectError returned next to the events that were accepted. A body
// that is not JSON at all gives a RejectError for its first record.
func (t *Tagger) JSONEvents(body []byte) ([]telemetry.Event, error) {
	// One copy of the body per request, as an immutable string: every
	// string of the events below is a substring of it (see view), instead
	// of one allocation per field.
	if len(body) > 0 {
		str := string(body)
		body = unsafe.Slice(unsafe.StringData(str), len(str)) //nolint:gosec // G103: read-only view of our own copy, never written to
	}
	return t.JSONEventsOwned(body)
}

// JSONEventsOwned is JSONEvents without the copy of body: the events'
// strings are substrings of body itself, so the caller must not write to
// body while the events are in use (ingest serve reuses a request's buffer
// only after its events were published and handed to Recycle). Nothing
// the Tagger keeps points into body: the trace cache copies what it
// remembers.
func (t *Tagger) JSONEventsOwned(body []byte) ([]telemetry.Event, error) {
	s := t.getState(0)
	s.jsonHints(len(body))
	s.walk.noted = t.traces != nil
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	rest := bytes.TrimLeft(body, " \t\r\n")
	switch {
	case len(rest) == 0:
	case rest[0] == '[':
		s.jsonArray(body)
	case isLines(body):
		s.jsonLines(body)
	default:
		s.jsonStream(body)
	}
	return t.finish(s)
}

// isLines reports whether body reads as NDJSON: its first non-blank line
// is a complete JSON value by itself (or the only line).
func isLines(body []byte) bool {
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			return true
		}
		if line := bytes.TrimSpace(body[:i]); len(line) > 0 {
			return len(bytes.TrimSpace(body[i+1:])) == 0 || validJSON(line)
		}
		body = body[i+1:]
	}
	return true
}

func (s *state) jsonLines(body []byte) {
	s.events = slices.Grow(s.events, bytes.Count(body, []byte{'\n'})+1)
	for n := 1; len(body) > 0; n++ {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			s.jsonRecord(line, n, "line")
		}
	}
}

func (s *state) jsonArray(body []byte) {
	if validJSON(body) {
		body = bytes.TrimSpace(body)
		i := 0
		for it := (elements{b: body, i: 1}); ; {
			v, ok := it.next()
			if !ok {
				return
			}
			i++
			s.jsonRecord(v, i, "record")
		}
	}
	// Slow path: find the good records before the syntax error.
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // '['
		s.errs = append(s.errs, RecordError{Index: 1, Path: "record 1", Msg: "invalid JSON: " + err.Error()})
		return
	}
	i := 0
	for dec.More() {
		i++
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			s.errs = append(s.errs, RecordError{Index: i, Path: "record " + itoa(i),
				Msg: "invalid JSON: " + err.Error() + "; the rest of the body was not read"})
			return
		}
		s.jsonRecord(raw, i, "record")
	}
	_, err := dec.Token() // ']'
	if err == nil {
		if _, err2 := dec.Token(); err2 == nil || dec.More() {
			err = errors.New("data after the closing bracket")
		}
	}
	if err != nil {
		s.errs = append(s.errs, RecordError{Index: i + 1, Path: "record " + itoa(i+1), Msg: "invalid JSON: " + err.Error()})
	}
}

// jsonStream reads one or more (possibly multi-line) JSON values; records
// are named by the line they start on.
func (s *state) jsonStream(body []byte) {
	dec := json.NewDecoder(bytes.NewReader(body))
	line, counted := 1, 0
	for {
		start := int(dec.InputOffset())
		for start < len(body) && isSpace(body[start]) {
			start++
		}
		if start >= len(body) {
			return
		}
		line += bytes.Count(body[counted:start], []byte{'\n'})
		counted = start
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			msg := "invalid JSON: " + err.Error()
			var se *json.SyntaxError
			if errors.As(err, &se) && se.Offset > 0 && int(se.Offset) <= len(body) {
				msg += fmt.Sprintf(" (line %d)", 1+bytes.Count(body[:se.Offset], []byte{'\n'}))
			}
			s.errs = append(s.errs, RecordError{Index: line, Path: "line " + itoa(line), Msg: msg + "; the rest of the body was not read"})
			return
		}
		s.jsonRecord(raw, line, "line")
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func (s *state) jsonRecord(raw []byte, index int, unit string) {
	e := s.next()
	if re := s.jsonEvent(e, raw); re != nil {
		re.Index = index
		re.Path = unit + " " + itoa(index)
		s.drop(re)
		return
	}
	if s.walk.noted {
		s.t.traces.note(e, &s.walk)
	}
}

// jsonFields are the known top-level fields of a JSON event.
type jsonFields struct {
	eventID, time, service, name, flow, flowKey, key, stage, experimentID, cohort, synthetic,
	status, httpStatus, durationMs, errorType, subjectID, traceID, spanID, severity, body,
	attributes json.RawMessage
}

// jsonEntry is one attribute: from "attributes" or an unknown top-level field.
type jsonEntry struct {
	key string
	raw json.RawMessage
	top bool
}

// invalidJSON is the error of a record that is not valid JSON.
func invalidJSON(raw []byte) *RecordError {
	var v struct{}
	err := json.Unmarshal(raw, &v)
	if err == nil {
		err = errors.New("invalid")
	}
	return &RecordError{Msg: "invalid JSON: " + err.Error()}
}

func (s *state) jsonEvent(e *telemetry.Event, raw []byte) *RecordError {
	if len(raw) == 0 || raw[0] != '{' {
		if !validJSON(raw) {
			return invalidJSON(raw)
		}
		return &RecordError{Msg: "want a JSON object, got " + typeName(raw)}
	}
	var f jsonFields
	ents := s.ents[:0]
	// One pass validates the record and reads its members (validJSON
	// and then a second walk cost twice as much).
	it := newCheckedMembers(raw)
	for {
		kraw, v, ok := it.next()
		if !ok {
			break
		}
		k := kraw[1 : len(kraw)-1]
		// An escape in the key: looked for only once the validator has
		// seen one in the record (it has scanned this key).
		if it.v.special && bytes.IndexByte(k, '\\') >= 0 {
			ents = append(ents, jsonEntry{key: unquote(kraw), raw: v, top: true})
			continue
		}
		switch string(k) {
		case "event_id":
			f.eventID = v
		case "time":
			f.time = v
		case "service":
			f.service = v
		case "name":
			f.name = v
		case "flow":
			f.flow = v
		case "flow_key":
			f.flowKey = v
		case "key":
			f.key = v
		case "stage":
			f.stage = v
		case "experiment_id":
			f.experimentID = v
		case "cohort":
			f.cohort = v
		case "synthetic":
			f.synthetic = v
		case "status":
			f.status = v
		case "http_status":
			f.httpStatus = v
		case "duration_ms":
			f.durationMs = v
		case "error_type":
			f.errorType = v
		case "subject_id":
			f.subjectID = v
		case "trace_id":
			f.traceID = v
		case "span_id":
			f.spanID = v
		case "severity":
			f.severity = v
		case "body":
			f.body = v
		case "attributes":
			f.attributes = v
		default:
			ents = append(ents, jsonEntry{key: string(k), raw: v, top: true})
		}
	}
	s.ents = ents
	if !it.valid() {
		return invalidJSON(raw)
	}
	s.plain = !it.v.special

	e.Kind = telemetry.KindEvent
	e.IngestNs = s.ingestNs
	var re *RecordError
	var eventID, flow, flowKey, stage, expID, cohort string
	if eventID, re = s.strField(f.eventID, "event_id"); re != nil {
		return re
	}
	if eventID != "" {
		if msg := checkEventID(eventID); msg != "" {
			return fieldErr("event_id", "%s", msg)
		}
	}
	hasTime := present(f.time)
	e.TimeNs = s.ingestNs
	if hasTime {
		ns, msg := parseTime(f.time)
		if msg != "" {
			return fieldErr("time", "%s", msg)
		}
		e.TimeNs = ns
	}
	if e.Service, re = s.requiredField(f.service, "service"); re != nil {
		return re
	}
	if e.Name, re = s.requiredField(f.name, "name"); re != nil {
		return re
	}
	if flow, re = s.strField(f.flow, "flow"); re != nil {
		return re
	}
	flowKeyField := "flow_key"
	if flowKey, re = s.idField(f.flowKey, "flow_key"); re != nil {
		return re
	}
	if flowKey == "" {
		flowKeyField = "key"
		if flowKey, re = s.idField(f.key, "key"); re != nil {
			return re
		}
	}
	if stage, re = s.strField(f.stage, "stage"); re != nil {
		return re
	}
	if expID, re = s.strField(f.experimentID, "experiment_id"); re != nil {
		return re
	}
	if cohort, re = s.strField(f.cohort, "cohort"); re != nil {
		return re
	}
	synthetic := byte(0) // absent
	if present(f.synthetic) {
		switch string(f.synthetic) {
		case "true":
			synthetic = 2
		case "false":
			synthetic = 1
		default:
			return fieldErr("synthetic", "want a boolean, got %s", typeName(f.synthetic))
		}
	}
	if present(f.status) {
		if f.status[0] != '"' {
			return fieldErr("status", "want a string, got %s", typeName(f.status))
		}
		switch st := f.status[1 : len(f.status)-1]; {
		case len(st) == 0 || bytes.EqualFold(st, []byte("unset")):
		case bytes.EqualFold(st, []byte("ok")):
			e.Status = telemetry.StatusOK
		case bytes.EqualFold(st, []byte("error")):
			e.Status = telemetry.StatusError
		default:
			return fieldErr("status", "want \"ok\", \"error\" or \"unset\", got %s", quoteTrunc(s.unquote(f.status)))
		}
	}
	if e.HTTPStatus, re = httpStatusField(f.httpStatus); re != nil {
		return re
	}
	if present(f.durationMs) {
		if !isNumber(f.durationMs) {
			return fieldErr("duration_ms", "want a number, got %s", typeName(f.durationMs))
		}
		ns, msg := numberScaled(f.durationMs, msScale)
		if msg != "" {
			return fieldErr("duration_ms", "%s: %s", f.durationMs, msg)
		}
		e.DurationNs = uint64(ns)
	}
	if e.ErrorType, re = s.strField(f.errorType, "error_type"); re != nil {
		return re
	}
	if e.SubjectID, re = s.idField(f.subjectID, "subject_id"); re != nil {
		return re
	}
	if e.TraceID, re = s.hexField(f.traceID, "trace_id", 16); re != nil {
		return re
	}
	if e.SpanID, re = s.hexField(f.spanID, "span_id", 8); re != nil {
		return re
	}
	if e.Severity, re = s.strField(f.severity, "severity"); re != nil {
		return re
	}
	if present(f.body) {
		e.Body = s.text(f.body)
	}
	if present(f.attributes) {
		if f.attributes[0] != '{' {
			return fieldErr("attributes", "want an object, got %s", typeName(f.attributes))
		}
		for it := (members{b: f.attributes, i: 1}); ; {
			k, v, ok := it.next()
			if !ok {
				break
			}
			s.ents = append(s.ents, jsonEntry{key: s.unquote(k), raw: v})
		}
	}
	keys, vals := s.jsonAttrs()
	e.IsError = e.Status == telemetry.StatusError || e.HTTPStatus >= 500

	// Tagging: explicit fields, then the chaos.* and flow.* attributes,
	// then the definitions.
	s.jl = jsonLookup{keys: keys, vals: vals, e: e, tagAttrs: hasTagAttr(keys)}
	if synthetic > 0 {
		e.Synthetic = synthetic == 2
	} else if v, ok := s.jl.tagAttr(telemetry.AttrSynthetic); ok {
		e.Synthetic = isTrue(v)
	}
	if re := s.tagExperiment(e, jsonCand(expID, "experiment_id").or(s.jl.cand(telemetry.AttrExperimentID)),
		jsonCand(cohort, "cohort").or(s.jl.cand(telemetry.AttrCohort)), &jsonNames, &s.jl); re != nil {
		return re
	}
	if re := s.tagFlow(e, jsonCand(flow, "flow").or(s.jl.cand(telemetry.AttrFlow)),
		jsonCand(flowKey, flowKeyField).or(s.jl.cand(telemetry.AttrFlowKey)),
		jsonCand(stage, "stage").or(s.jl.cand(telemetry.AttrFlowStage)), &jsonNames, &s.jl); re != nil {
		return re
	}

	if eventID != "" {
		e.ID = eventID
	} else {
		// Canonical record: every field as received but normalized (aliases
		// merged, numbers converted, ids lower-cased, attributes sorted by
		// key), defaults and tags not included.
		c := s.canon[:0]
		c = appendStr(c, e.Service)
		c = appendStr(c, e.Name)
		if hasTime {
			c = append(c, 1)
			c = appendU64(c, uint64(e.TimeNs))
		} else {
			c = append(c, 0)
		}
		for _, v := range [...]string{flow, flowKey, stage, expID, cohort, e.ErrorType, e.SubjectID,
			e.TraceID, e.SpanID, e.Severity, e.Body} {
			c = appendStr(c, v)
		}
		c = append(c, synthetic, byte(e.Status))
		c = appendU64(c, uint64(e.HTTPStatus))
		c = appendU64(c, e.DurationNs)
		c = appendU64(c, uint64(len(keys)))
		for i, k := range keys {
			c = appendStr(c, k)
			c = appendStr(c, vals[i])
		}
		s.canon = c
		e.ID = hashID(c)
	}
	s.t.truncateAll(vals)
	e.AttrKeys, e.AttrValues = keys, vals
	return s.checkSize(e)
}

// jsonAttrs turns s.ents into sorted attributes; an "attributes" entry wins
// over a top-level field of the same name, else the last one wins, and nulls
// are dropped.
func (s *state) jsonAttrs() (keys, vals []string) {
	ents := s.ents
	if len(ents) == 0 {
		return nil, nil
	}
	slices.SortStableFunc(ents, func(a, b jsonEntry) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		switch {
		case a.top == b.top:
			return 0
		case a.top:
			return -1
		default:
			return 1
		}
	})
	n := len(ents)
	buf := s.strSlots(2 * n)
	keys, vals = buf[:0:n], buf[n:n:2*n]
	for i := range ents {
		en := &ents[i]
		if (i+1 < len(ents) && en.key == ents[i+1].key) || !present(en.raw) {
			continue
		}
		keys = append(keys, en.key)
		vals = append(vals, s.text(en.raw))
	}
	return keys, vals
}

func present(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] != 'n' }

func isNumber(raw json.RawMessage) bool { return raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') }

func typeName(raw json.RawMessage) string {
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// jsonHints sizes the arena blocks of a JSON request by its body: a
// typical record (about 250 bytes, a few attributes) takes about 8 string
// slots and a few bytes of kept text. Blocks of the full 4096 slots
// (64 KiB, allocated and cleared) for a request of 100 events were most of
// what a small request allocated; a request of more records than the
// first block holds gets another block, as before.
func (s *state) jsonHints(bodyLen int) {
	s.arenaHint = min(max(bodyLen/32, 64), 4096)
	s.byteHint = min(max(bodyLen/16, 256), 4096)
}

// unquote decodes a JSON string literal.
func unquote(raw []byte) string {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return view(inner)
	}
	var v string
	_ = json.Unmarshal(raw, &v) // raw was validated by the decoder
	return v
}

// view returns b as a string without copying. Every JSON value this file
// reads is immutable memory: a slice of the body's string copy made by
// JSONEvents (or of the body JSONEventsOwned was handed), or a
// json.RawMessage the decoder allocated for it, which nothing writes to.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b)) //nolint:gosec // G103: immutable memory, see above
}

// unquote is unquote for a string of the current JSON record: its inside
// as it is when the record is plain (the common case: unquote's own look
// at every string, an IndexByte and a utf8.Valid call, was a sixth of the
// decode's instructions).
func (s *state) unquote(raw []byte) string {
	if s.plain {
		return view(raw[1 : len(raw)-1])
	}
	return unquote(raw)
}

// strField reads an optional string field; null counts as absent.
func strField(raw json.RawMessage, name string) (string, *RecordError) {
	if !present(raw) {
		return "", nil
	}
	if raw[0] != '"' {
		return "", fieldErr(name, "want a string, got %s", typeName(raw))
	}
	return unquote(raw), nil
}

// strField is strField for a field of the current JSON record.
func (s *state) strField(raw json.RawMessage, name string) (string, *RecordError) {
	if s.plain && len(raw) > 0 && raw[0] == '"' {
		return view(raw[1 : len(raw)-1]), nil
	}
	return strField(raw, name)
}

// requiredField reads a string field that must be present and not empty.
// It reads through s.strField: unquote's own look at the string (an
// IndexByte and a utf8.Valid call) for service and name was 5 % of
// BenchmarkStageDecodeTag's instructions, and a plain record needs none.
func (s *state) requiredField(raw json.RawMessage, name string) (string, *RecordError) {
	v, re := s.strField(raw, name)
	if re == nil && v == "" {
		re = fieldErr(name, "required")
	}
	return v, re
}

// idField reads a string or a number (kept as written).
func (s *state) idField(raw json.RawMessage, name string) (string, *RecordError) {
	if present(raw) && isNumber(raw) {
		return view(raw), nil
	}
	v, re := s.strField(raw, name)
	if re != nil {
		re.Msg = "want a string or a number, got " + typeName(raw)
	}
	return v, re
}

// hexField reads a hex id of n bytes, lower-cased. Every byte must be a
// hex digit (until 2026-12-01 the bytes after the first upper-case digit
// went unchecked: "A" and 31 'z' was accepted as a trace id).
func (s *state) hexField(raw json.RawMessage, name string, n int) (string, *RecordError) {
	v, re := s.strField(raw, name)
	if re != nil || v == "" {
		return v, re
	}
	if len(v) != 2*n {
		return "", fieldErr(name, "want %d hex digits, got %s", 2*n, quoteTrunc(v))
	}
	// One table lookup per byte instead of six comparisons: the loop was
	// 4 % of BenchmarkStageDecodeTag's instructions (a trace id per event).
	upper := false
	for i := 0; i < len(v); i++ {
		switch hexClass[v[i]] {
		case hexLower:
		case hexUpper:
			upper = true
		default:
			return "", fieldErr(name, "want %d hex digits, got %s", 2*n, quoteTrunc(v))
		}
	}
	if upper {
		return strings.ToLower(v), nil
	}
	return v, nil
}

// The classes of bytes in a hex id.
const (
	hexLower = iota // 0-9, a-f
	hexUpper        // A-F
	hexOther
)

var hexClass = func() (t [256]uint8) {
	for i := range t {
		switch c := byte(i); {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
			t[i] = hexLower
		case c >= 'A' && c <= 'F':
			t[i] = hexUpper
		default:
			t[i] = hexOther
		}
	}
	return t
}()

func httpStatusField(raw json.RawMessage) (uint16, *RecordError) {
	if !present(raw) {
		return 0, nil
	}
	if !isNumber(raw) {
		return 0, fieldErr("http_status", "want a number, got %s", typeName(raw))
	}
	n := 0
	for _, c := range raw {
		if c < '0' || c > '9' || n > 1000 {
			return 0, fieldErr("http_status", "want an HTTP status code (100 to 599), got %s", quoteTrunc(string(raw)))
		}
		n = n*10 + int(c-'0')
	}
	if n != 0 && (n < 100 || n > 599) {
		return 0, fieldErr("http_status", "want an HTTP status code (100 to 599), got %d", n)
	}
	return uint16(n), nil
}

// text turns any JSON value into attribute text: strings as they are,
// numbers as written, booleans as true/false, objects and arrays as
// compact JSON.
func (s *state) text(raw json.RawMessage) string {
	switch raw[0] {
	case '"':
		return s.unquote(raw)
	case 't':
		return "true"
	case 'f':
		return "false"
	case '{', '[':
		s.cbuf.Reset()
		if json.Compact(&s.cbuf, raw) != nil {
			return string(raw)
		}
		return s.cbuf.String()
	default:
		return view(raw)
	}
}

// checkEventID returns what is wrong with a client-supplied event id.
func checkEventID(id string) string {
	if len(id) > MaxEventIDBytes {
		return fmt.Sprintf("%s is %d bytes long, at most %d allowed", quoteTrunc(id), len(id), MaxEventIDBytes)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; badIDByte[c] {
			return fmt.Sprintf("%s has %q at byte %d: want printable ASCII without spaces, quotes or backslashes",
				quoteTrunc(id), rune(c), i)
		}
	}
	return ""
}

// badIDByte marks the bytes an event id must not hold: controls, space,
// non-ASCII, quotes and backslash (a table: the five comparisons per byte
// were 2 % of BenchmarkStageDecodeTag's instructions).
var badIDByte = func() (t [256]bool) {
	for i := range t {
		c := byte(i)
		t[i] = c <= ' ' || c > '~' || c == '"' || c == '\'' || c == '\\'
	}
	return t
}()

var maxTime = time.Unix(0, math.MaxInt64)

// parseTime reads an RFC 3339 string or a unix number; see the package
// documentation for how the unit of a number is chosen.
func parseTime(raw json.RawMessage) (int64, string) {
	switch {
	case raw[0] == '"':
		v := unquote(raw)
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return 0, "want an RFC 3339 time or a unix number, got " + quoteTrunc(v)
		}
		if t.Before(time.Unix(0, 0)) || t.After(maxTime) {
			return 0, fmt.Sprintf("%s is out of range (1970 to 2262)", quoteTrunc(v))
		}
		return t.UnixNano(), ""
	case isNumber(raw):
		ns, msg := numberScaled(raw, unixScale)
		if msg != "" {
			return 0, string(raw) + ": " + msg
		}
		return ns, ""
	default:
		return 0, "want an RFC 3339 time or a unix number, got " + typeName(raw)
	}
}

// unixScale picks the unit of a unix time by its magnitude: seconds below
// 1e11, milliseconds below 1e14, microseconds below 1e17, else nanoseconds.
func unixScale(v float64) int64 {
	switch {
	case v < 1e11:
		return 1e9
	case v < 1e14:
		return 1e6
	case v < 1e17:
		return 1e3
	default:
		return 1
	}
}

func msScale(float64) int64 { return 1e6 }

// numberScaled converts a JSON number literal (as the validator accepts
// it) to nanoseconds, the literal's unit being scale(value) nanoseconds.
// Decimal fractions are exact; exponents go through float64.
func numberScaled(lit []byte, scale func(float64) int64) (int64, string) {
	if lit[0] == '-' {
		return 0, "must not be negative"
	}
	// One pass: the integer digits, then the fraction's, then an exponent
	// if any (a pass for the point and the exponent and another for the
	// digits were 6 % of BenchmarkStageDecodeTag's instructions, two
	// numbers per event).
	var ip int64
	over := false
	i := 0
	for ; i < len(lit) && lit[i] >= '0' && lit[i] <= '9'; i++ {
		if ip > (math.MaxInt64-9)/10 {
			over = true
		}
		ip = ip*10 + int64(lit[i]-'0')
	}
	var frac []byte
	if i < len(lit) && lit[i] == '.' {
		j := i + 1
		for j < len(lit) && lit[j] >= '0' && lit[j] <= '9' {
			j++
		}
		frac, i = lit[i+1:j], j
	}
	if i < len(lit) { // an exponent
		f, err := strconv.ParseFloat(string(lit), 64)
		v := f * float64(scale(f))
		if err != nil || v >= math.MaxInt64 {
			return 0, "out of range"
		}
		return int64(math.Round(v)), ""
	}
	if over {
		return 0, "out of range"
	}
	sc := scale(float64(ip))
	if ip > (math.MaxInt64-sc)/sc {
		return 0, "out of range"
	}
	v := ip * sc
	for _, c := range frac {
		if sc /= 10; sc == 0 {
			break
		}
		v += int64(c-'0') * sc
	}
	return v, ""
}

func jsonCand(v, field string) cand { return cand{val: v, field: field, ok: v != ""} }

// jsonLookup is what rules and flow stages see of a JSON event: its
// attributes (sorted), then its known fields by name.
type jsonLookup struct {
	keys, vals []string
	e          *telemetry.Event
	// tagAttrs: some key starts with "chaos." or "flow." (the tag
	// attributes); most events have none, and then their lookups are
	// skipped.
	tagAttrs bool
}

// hasTagAttr reports whether a key starts with "chaos." or "flow.".
func hasTagAttr(keys []string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k, "chaos.") || strings.HasPrefix(k, "flow.") {
			return true
		}
	}
	return false
}

// tagAttr looks up one of the tag attributes (chaos.*, flow.*).
func (j *jsonLookup) tagAttr(key string) (string, bool) {
	if !j.tagAttrs {
		return "", false
	}
	return j.attr(key)
}

func (j *jsonLookup) attr(key string) (string, bool) {
	if i, ok := slices.BinarySearch(j.keys, key); ok {
		return j.vals[i], true
	}
	return "", false
}

// cand looks up one of the tag attributes (chaos.*, flow.*).
func (j *jsonLookup) cand(key string) cand {
	if v, ok := j.tagAttr(key); ok && v != "" {
		return cand{val: v, field: key, ok: true}
	}
	return cand{}
}

// Get implements experiment.Attributes.
func (j *jsonLookup) Get(key string) (string, bool) {
	if v, ok := j.attr(key); ok {
		return v, true
	}
	e := j.e
	var v string
	switch key {
	case "service", telemetry.AttrServiceName:
		v = e.Service
	case "name":
		v = e.Name
	case "subject_id", telemetry.AttrSubjectID:
		v = e.SubjectID
	case "error_type", telemetry.AttrErrorType:
		v = e.ErrorType
	case "severity":
		v = e.Severity
	case "trace_id":
		v = e.TraceID
	case "span_id":
		v = e.SpanID
	case "status":
		if e.Status != telemetry.StatusUnset {
			v = e.Status.String()
		}
	case "http_status", telemetry.AttrHTTPStatusCode:
		if e.HTTPStatus != 0 {
			v = strconv.Itoa(int(e.HTTPStatus))
		}
	}
	return v, v != ""
}

// members iterates over the members of a JSON object that validJSON
// accepted, without copying: b starts with '{', i is past it.
type members struct {
	b []byte
	i int
}

// next returns the next key (quoted, as written) and value (as written).
func (m *members) next() (key, val []byte, ok bool) {
	b := m.b
	i := skipSpace(b, m.i)
	if b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if b[i] == '}' {
		m.i = i
		return nil, nil, false
	}
	j := endString(b, i)
	key = b[i:j]
	i = skipSpace(b, skipSpace(b, j)+1) // past ':'
	j = endValue(b, i)
	m.i = j
	return key, b[i:j], true
}

// checkedMembers iterates over the members of a JSON object (b starts
// with '{') and validates it on the way, exactly as validJSON does: once
// next returns false, valid reports whether b was one valid JSON object
// (with optional trailing whitespace). The members returned before an
// error are not to be used.
type checkedMembers struct {
	v   validator
	i   int
	end bool // past the closing brace (at i)
	bad bool
}

func newCheckedMembers(b []byte) checkedMembers {
	m := checkedMembers{v: validator{b: b}}
	m.i = m.v.space(1)
	if m.i < len(b) && b[m.i] == '}' {
		m.i, m.end = m.i+1, true
	}
	return m
}

func (m *checkedMembers) next() (key, val []byte, ok bool) {
	if m.end || m.bad {
		return nil, nil, false
	}
	b := m.v.b
	i := m.i
	if i >= len(b) || b[i] != '"' {
		m.bad = true
		return nil, nil, false
	}
	j, ok := m.v.str(i)
	if !ok {
		m.bad = true
		return nil, nil, false
	}
	key = b[i:j]
	if i = m.v.space(j); i >= len(b) || b[i] != ':' {
		m.bad = true
		return nil, nil, false
	}
	i = m.v.space(i + 1)
	if j, ok = m.v.value(i, 1); !ok {
		m.bad = true
		return nil, nil, false
	}
	val = b[i:j]
	if i = m.v.space(j); i >= len(b) {
		m.bad = true
		return nil, nil, false
	}
	switch b[i] {
	case ',':
		m.i = m.v.space(i + 1)
	case '}':
		m.i, m.end = i+1, true
	default:
		m.bad = true
		return nil, nil, false
	}
	return key, val, true
}

func (m *checkedMembers) valid() bool {
	return m.end && !m.bad && m.v.space(m.i) == len(m.v.b)
}

// elements iterates over the elements of a valid JSON array: b starts with
// '[', i is past it.
type elements struct {
	b []byte
	i int
}

func (m *elements) next() (val []byte, ok bool) {
	b := m.b
	i := skipSpace(b, m.i)
	if b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if b[i] == ']' {
		m.i = i
		return nil, false
	}
	j := endValue(b, i)
	m.i = j
	return b[i:j], true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// endString returns the index past the string literal starting at b[i].
func endString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// endValue returns the index past the value starting at b[i].
func endValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return endString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = endString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	default:
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isSpace(b[i]) {
			i++
		}
		return i
	}
}
