package tag

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Limits and defaults.
const (
	// DefaultMaxAttrValueBytes is Config.MaxAttrValueBytes when unset.
	DefaultMaxAttrValueBytes = 4096
	// DefaultMaxEventBytes is Config.MaxEventBytes when unset: 900 KiB stays
	// below Kafka's default 1 MiB record limit.
	DefaultMaxEventBytes = 900 << 10
	// MaxFlowValueBytes bounds flow keys and stage names.
	MaxFlowValueBytes = 256
	// MaxEventIDBytes bounds the event_id of JSON events.
	MaxEventIDBytes = 128
	// TruncationMarker ends attribute values cut to MaxAttrValueBytes.
	TruncationMarker = "...[truncated]"

	minAttrValueBytes = 32
	minEventBytes     = 1024
)

// Config tunes a Tagger; the zero value gives the defaults.
type Config struct {
	// MaxAttrValueBytes bounds every attribute and resource attribute value
	// stored on an event; longer values are cut (at a UTF-8 boundary) and end
	// in TruncationMarker, the whole at most this long. Tagging and event ids
	// see the full values. 0 means DefaultMaxAttrValueBytes; minimum 32.
	MaxAttrValueBytes int
	// MaxEventBytes bounds the wire form of an event
	// ((*telemetry.Event).AppendJSON); larger events are rejected.
	// 0 means DefaultMaxEventBytes; minimum 1024.
	MaxEventBytes int
	// Now gives the ingest time; nil means time.Now.
	Now func() time.Time
	// Traces, when set, tags untagged spans and log records with the
	// experiment and cohort of their trace (see TraceCohorts). Nil: off.
	Traces *TraceCohorts
}

// Tagger converts and tags telemetry. Build it with New; it is immutable and
// safe for concurrent use.
type Tagger struct {
	maxAttr  int
	maxEvent int
	now      func() time.Time
	traces   *TraceCohorts
	assigner *experiment.Assigner
	flows    []*experiment.Flow          // spec flows with a key, in spec order
	byName   map[string]*experiment.Flow // every spec flow
	pool     sync.Pool                   // *state
	recycled sync.Pool                   // *[]telemetry.Event, see Recycle
}

// New returns a Tagger for cfg whose cohort rules and flows come from spec;
// spec may be nil (no rules, no flows). The Tagger copies what it needs from
// spec. It checks cfg and the identifiers of spec (experiment ids and flow
// names must pass telemetry.ValidateID); load spec with experiment.Load* for
// the full validation.
func New(cfg Config, spec *experiment.Spec) (*Tagger, error) {
	t := &Tagger{maxAttr: cfg.MaxAttrValueBytes, maxEvent: cfg.MaxEventBytes, now: cfg.Now, traces: cfg.Traces}
	switch {
	case t.maxAttr == 0:
		t.maxAttr = DefaultMaxAttrValueBytes
	case t.maxAttr < minAttrValueBytes:
		return nil, fmt.Errorf("tag: MaxAttrValueBytes %d: at least %d required", t.maxAttr, minAttrValueBytes)
	}
	switch {
	case t.maxEvent == 0:
		t.maxEvent = DefaultMaxEventBytes
	case t.maxEvent < minEventBytes:
		return nil, fmt.Errorf("tag: MaxEventBytes %d: at least %d required", t.maxEvent, minEventBytes)
	}
	if t.now == nil {
		t.now = time.Now
	}
	var errs []error
	t.byName = map[string]*experiment.Flow{}
	if spec != nil {
		for i := range spec.Experiments {
			if err := telemetry.ValidateID(spec.Experiments[i].ID); err != nil {
				errs = append(errs, fmt.Errorf("tag: experiments[%d]: id %w", i, err))
			}
		}
		for i := range spec.Flows {
			f := spec.Flows[i] // copy: the Tagger must not change when spec does
			f.Stages = slices.Clone(f.Stages)
			if err := telemetry.ValidateID(f.Name); err != nil {
				errs = append(errs, fmt.Errorf("tag: flows[%d]: name %w", i, err))
				continue
			}
			if _, dup := t.byName[f.Name]; dup {
				errs = append(errs, fmt.Errorf("tag: flows[%d]: flow %q defined twice", i, f.Name))
				continue
			}
			t.byName[f.Name] = &f
			if f.Key != "" {
				t.flows = append(t.flows, &f)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	t.assigner = experiment.NewAssigner(spec)
	t.pool.New = func() any { return newState() }
	return t, nil
}

// state is the scratch space of one call; pooled.
type state struct {
	t        *Tagger
	ingestNs int64
	events   []telemetry.Event
	errs     []RecordError

	// OTLP: the attributes of the current record and resource, full values.
	rec, res         attrList
	lay              layered
	service          string
	resKeys, resVals []string // truncated, shared by the resource's events
	types, resTypes  []byte
	resCanon         []byte
	scopeCanon       []byte
	// evals are the flag evaluation span events of the current span (see
	// evals.go); decider is the index of the one whose rule matched, or -1.
	evals   []attrList
	decider int

	canon []byte
	idx   []int32
	h     hash.Hash
	sum   []byte
	wire  []byte

	// JSON
	ents []jsonEntry
	// plain: no string of the current JSON record holds an escape or a
	// non-ASCII byte (the validator saw none), so each string's inside is
	// its value as it is, with no look of its own.
	plain bool
	// strArena backs the attribute slices of the request's events, and
	// byteArena the text of their ids and integer attribute values (see
	// keep); a request's events keep them, so they are never reused by
	// the next request. arenaHint and byteHint size their blocks to the
	// request.
	strArena            []string
	byteArena           []byte
	arenaHint, byteHint int
	num                 []byte
	jl                  jsonLookup
	// walk is the trace step's first pass over the request's events, done
	// as each JSON event is decoded (see TraceCohorts.note).
	walk traceWalk
	cbuf bytes.Buffer
}

func newState() *state {
	s := &state{h: sha256.New(), sum: make([]byte, 0, sha256.Size), decider: -1}
	s.lay = layered{rec: &s.rec, res: &s.res}
	return s
}

func (t *Tagger) getState(capacity int) *state {
	s := t.pool.Get().(*state)
	s.t = t
	s.ingestNs = t.now().UnixNano()
	s.arenaHint, s.byteHint = 4096, 4096 // JSON: the count is not known yet
	if capacity > 0 {
		s.arenaHint = min(max(capacity*16, 64), 4096)
		s.byteHint = min(max(capacity*80, 256), 64<<10) // ids and a few numbers per record
	}
	if p, ok := t.recycled.Get().(*[]telemetry.Event); ok && cap(*p) >= capacity {
		s.events = (*p)[:0]
	} else {
		s.events = make([]telemetry.Event, 0, capacity)
	}
	return s
}

// maxRecycledEvents keeps an unusually large request's slice out of the
// pool.
const maxRecycledEvents = 1 << 16

// Recycle hands back events a conversion returned, once nothing uses them
// any more (ingest serve: once Kafka acknowledged or refused them), so a
// later conversion reuses their array instead of allocating and zeroing a
// new one. The strings the events pointed to are not touched: only the
// array is reused. The caller must not use events afterwards.
func (t *Tagger) Recycle(events []telemetry.Event) {
	if cap(events) == 0 || cap(events) > maxRecycledEvents {
		return
	}
	events = events[:cap(events)]
	clear(events) // the old strings must not stay reachable from the pool
	t.recycled.Put(&events)
}

// finish hands over the events and the rejections and returns s to the pool.
func (t *Tagger) finish(s *state) ([]telemetry.Event, error) {
	events, errs := s.events, s.errs
	s.events, s.errs = nil, nil
	if t.traces != nil {
		t.traces.applyTraces(events, s)
	}
	s.walk = traceWalk{}
	s.rec, s.res, s.resKeys, s.resVals, s.service = attrList{}, attrList{}, nil, nil, ""
	s.resetEvals()
	s.jl = jsonLookup{}
	s.strArena, s.byteArena = nil, nil
	clear(s.ents)
	s.ents = s.ents[:0]
	if cap(s.wire) > 1<<20 {
		s.wire = nil
	}
	if cap(s.canon) > 1<<20 {
		s.canon = nil
	}
	if s.cbuf.Cap() > 1<<20 {
		s.cbuf = bytes.Buffer{}
	}
	t.pool.Put(s)
	if len(events) == 0 {
		events = nil
	}
	if len(errs) > 0 {
		return events, &RejectError{Rejected: len(errs), Errors: errs}
	}
	return events, nil
}

// strSlots returns n string slots from the request's arena: one
// allocation per block of arenaHint slots instead of one per record.
func (s *state) strSlots(n int) []string {
	if cap(s.strArena)-len(s.strArena) < n {
		// A new block for the rest of the request: the events hold
		// slices of the old one.
		s.strArena = make([]string, 0, max(n, s.arenaHint))
	}
	l := len(s.strArena)
	s.strArena = s.strArena[:l+n]
	return s.strArena[l : l+n : l+n]
}

// keep returns a string of b's bytes, copied into the request's byte
// arena: one allocation per block instead of one per string. A block is
// only ever appended to, so the strings already handed out never change.
func (s *state) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(s.byteArena)-len(s.byteArena) < len(b) {
		s.byteArena = make([]byte, 0, max(len(b), s.byteHint))
	}
	l := len(s.byteArena)
	s.byteArena = append(s.byteArena, b...)
	return unsafe.String(&s.byteArena[l], len(b)) //nolint:gosec // G103: the arena's bytes are never written again
}

// next appends a zero event and returns it.
func (s *state) next() *telemetry.Event {
	s.events = append(s.events, telemetry.Event{})
	return &s.events[len(s.events)-1]
}

// drop removes the last event and records why.
func (s *state) drop(re *RecordError) {
	s.events = s.events[:len(s.events)-1]
	s.errs = append(s.errs, *re)
}

// attrList is a record's or resource's attributes, values as text.
type attrList struct{ keys, vals []string }

func (a *attrList) get(key string) (string, bool) {
	for i, k := range a.keys {
		if k == key {
			return a.vals[i], true
		}
	}
	return "", false
}

// layered is the record's attributes over the resource's; it is what cohort
// rules and flow stages are matched against.
type layered struct{ rec, res *attrList }

// Get implements experiment.Attributes.
func (l *layered) Get(key string) (string, bool) {
	if v, ok := l.rec.get(key); ok {
		return v, true
	}
	return l.res.get(key)
}

// cand is an explicitly given tag value and where it came from.
type cand struct {
	val   string
	field string // attribute key or JSON field, for errors
	where string // "" or "on the resource: "
	ok    bool
}

func (c cand) or(d cand) cand {
	if c.ok {
		return c
	}
	return d
}

const onResource = "on the resource: "

// otlpCand looks key up on the record, then on the resource; empty values
// count as absent.
func (s *state) otlpCand(key string) cand {
	if v, ok := s.rec.get(key); ok && v != "" {
		return cand{val: v, field: key, ok: true}
	}
	if v, ok := s.res.get(key); ok && v != "" {
		return cand{val: v, field: key, where: onResource, ok: true}
	}
	return cand{}
}

// tagNames are the names tagging errors mention for the explicit tags.
type tagNames struct{ id, cohort, flow, flowKey, stage string }

var (
	otlpNames = tagNames{telemetry.AttrExperimentID, telemetry.AttrCohort,
		telemetry.AttrFlow, telemetry.AttrFlowKey, telemetry.AttrFlowStage}
	jsonNames = tagNames{"experiment_id", "cohort", "flow", "flow_key", "stage"}
)

func fieldErr(field, format string, args ...any) *RecordError {
	return &RecordError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// tagExperiment stamps experiment and cohort: explicit values if any (both
// required, both valid), else the first matching cohort rule.
func (s *state) tagExperiment(e *telemetry.Event, id, cohort cand, n *tagNames, attrs experiment.Attributes) *RecordError {
	if !id.ok && !cohort.ok {
		if x, c, ok := s.t.assigner.Assign(e.Service, attrs); ok {
			e.ExperimentID, e.Cohort = x, c
			return nil
		}
		s.assignFromEvals(e, attrs)
		return nil
	}
	if id.ok {
		if err := telemetry.ValidateID(id.val); err != nil {
			return fieldErr(id.field, "%sexperiment id %v", id.where, err)
		}
	}
	var c telemetry.Cohort
	if cohort.ok {
		var err error
		c, err = telemetry.ParseCohort(cohort.val)
		if err != nil || c == telemetry.CohortNone {
			return fieldErr(cohort.field, "%scohort %s: want \"experiment\" or \"control\"", cohort.where, quoteTrunc(cohort.val))
		}
	}
	if !id.ok {
		return fieldErr(cohort.field, "%scohort given without an experiment id (%s)", cohort.where, n.id)
	}
	if !cohort.ok {
		return fieldErr(id.field, "%sexperiment id given without a cohort (%s)", id.where, n.cohort)
	}
	e.ExperimentID, e.Cohort = id.val, c
	return nil
}

// tagFlow places the event in a flow: explicitly named (key and stage given
// or derived from the named flow's definition), else the first spec flow
// with a stage matching the event and a key on it.
func (s *state) tagFlow(e *telemetry.Event, name, key, stage cand, n *tagNames, attrs experiment.Attributes) *RecordError {
	if stage.ok && !name.ok {
		return fieldErr(stage.field, "%sflow stage given without a flow name (%s)", stage.where, n.flow)
	}
	if name.ok {
		if err := telemetry.ValidateID(name.val); err != nil {
			return fieldErr(name.field, "%sflow name %v", name.where, err)
		}
		f := s.t.byName[name.val]
		if !stage.ok && f != nil {
			if st, ok := f.MatchStage(e.Name, e.Service, attrs); ok {
				stage = cand{val: st, field: name.field, ok: true}
			}
		}
		if !key.ok && f != nil && f.Key != "" {
			if v, ok := attrs.Get(f.Key); ok && v != "" {
				key = cand{val: v, field: f.Key, ok: true}
			}
		}
		if !stage.ok {
			return fieldErr(name.field, "%sflow %q: no stage given (%s) and no stage of its definition matches %s",
				name.where, name.val, n.stage, quoteTrunc(e.Name))
		}
		if !key.ok {
			return fieldErr(name.field, "%sflow %q: no key given (%s or the flow's key attribute)", name.where, name.val, n.flowKey)
		}
		if re := checkFlowValue(stage, "stage"); re != nil {
			return re
		}
		if re := checkFlowValue(key, "key"); re != nil {
			return re
		}
		e.Flow, e.FlowKey, e.Stage = name.val, key.val, stage.val
		return nil
	}
	for _, f := range s.t.flows {
		st, ok := f.MatchStage(e.Name, e.Service, attrs)
		if !ok {
			continue
		}
		k := key
		if !k.ok {
			v, ok := attrs.Get(f.Key)
			if !ok || v == "" {
				continue
			}
			k = cand{val: v, field: f.Key, ok: true}
		}
		if re := checkFlowValue(k, "key"); re != nil {
			return re
		}
		e.Flow, e.FlowKey, e.Stage = f.Name, k.val, st
		return nil
	}
	if key.ok {
		return fieldErr(key.field, "%sflow key given without a flow name (%s), and no defined flow has a stage matching %s",
			key.where, n.flow, quoteTrunc(e.Name))
	}
	return nil
}

func checkFlowValue(c cand, what string) *RecordError {
	if len(c.val) > MaxFlowValueBytes {
		return fieldErr(c.field, "%sflow %s %s is %d bytes long, at most %d allowed",
			c.where, what, quoteTrunc(c.val), len(c.val), MaxFlowValueBytes)
	}
	return nil
}

// isTrue reads chaos.synthetic.
func isTrue(v string) bool { return v == "1" || strings.EqualFold(v, "true") }

// truncate cuts v to the configured maximum.
func (t *Tagger) truncate(v string) string {
	if len(v) <= t.maxAttr {
		return v
	}
	n := t.maxAttr - len(TruncationMarker)
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return v[:n] + TruncationMarker
}

// truncateAll truncates vals in place.
func (t *Tagger) truncateAll(vals []string) {
	for i, v := range vals {
		if len(v) > t.maxAttr {
			vals[i] = t.truncate(v)
		}
	}
}

// wireSlack covers the numbers and enum names of the wire form.
const wireSlack = 256

var emptyWireLen = len((&telemetry.Event{}).AppendJSON(nil))

// checkSize rejects events whose wire form exceeds MaxEventBytes; the wire
// form is built only when a cheap upper bound (every byte escaped as \u00XX)
// exceeds the limit.
func (s *state) checkSize(e *telemetry.Event) *RecordError {
	// The lengths summed in place: copying the fourteen strings into an
	// array to range over it cost about 440 instructions per event.
	n := emptyWireLen + wireSlack + 6*(len(e.ID)+len(e.Service)+len(e.Name)+len(e.TraceID)+len(e.SpanID)+
		len(e.ParentSpanID)+len(e.Flow)+len(e.FlowKey)+len(e.Stage)+len(e.ExperimentID)+len(e.ErrorType)+
		len(e.SubjectID)+len(e.Severity)+len(e.Body))
	for _, vs := range [...][]string{e.AttrKeys, e.AttrValues, e.ResKeys, e.ResValues} {
		for _, v := range vs {
			n += 6*len(v) + 3
		}
	}
	if n <= s.t.maxEvent {
		return nil
	}
	s.wire = e.AppendJSON(s.wire[:0])
	if len(s.wire) > s.t.maxEvent {
		return &RecordError{Msg: fmt.Sprintf("event is %d bytes in its wire form, at most %d allowed", len(s.wire), s.t.maxEvent)}
	}
	return nil
}

// Canonical encoding for event ids: every string is length-prefixed, so the
// encoding of a record is unambiguous.

func appendStr(b []byte, v string) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// appendSortedAttrs appends the attributes sorted by key, value and type.
// types may be nil.
func (s *state) appendSortedAttrs(b []byte, keys, vals []string, types []byte) []byte {
	idx := s.idx[:0]
	for i := range keys {
		idx = append(idx, int32(i))
	}
	slices.SortFunc(idx, func(x, y int32) int {
		if c := strings.Compare(keys[x], keys[y]); c != 0 {
			return c
		}
		if c := strings.Compare(vals[x], vals[y]); c != 0 {
			return c
		}
		if types == nil {
			return 0
		}
		return cmp.Compare(types[x], types[y])
	})
	s.idx = idx
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, i := range idx {
		b = appendStr(b, keys[i])
		if types != nil {
			b = append(b, types[i])
		}
		b = appendStr(b, vals[i])
	}
	return b
}

// digest returns the first 16 bytes of the SHA-256 of the parts, as written
// to s.h.
func (s *state) digest() []byte {
	s.sum = s.h.Sum(s.sum[:0])
	return s.sum[:16]
}

// hashID returns the hex of the first 16 bytes of SHA-256(b).
func hashID(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func itoa(v int) string { return strconv.Itoa(v) }
