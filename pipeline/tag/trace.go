package tag

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"time"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Trace-level tagging at ingest: a span or log record that neither its own
// attributes, its resource nor the cohort rules tag takes the experiment
// and cohort of its trace, as decided by any other event of the same trace
// that this serve process has seen (a flag evaluation on the root span, a
// tagged span upstream).
//
// TraceCohorts remembers those decisions in bounded memory: two
// generations of at most Size traces each, in tables of fixed size
// allocated once (no allocation per trace, nothing for the garbage
// collector to scan); the current generation is retired when it is full
// (traces, or traceTextPerEntry bytes of experiment ids and subjects per
// trace on average) or older than TTL, and the previous one is then
// dropped. A decision is therefore remembered for at least
// min(TTL, the time it takes Size new traces to be decided) and at most
// 2·TTL. Within one request every decision is applied whatever the order of
// its spans. What this cache cannot see (a span that arrives before the
// deciding one in an earlier request, a decision older than the cache
// remembers, or one made through another serve instance) stays untagged
// here and is resolved in ClickHouse from the trace_cohorts_v2 table by the
// analysis queries (queries/schema/0022_trace_cohorts_v2.up.sql).

// Defaults of TraceCohorts.
const (
	DefaultTraceCacheSize = 100_000
	DefaultTraceCacheTTL  = 5 * time.Minute
	traceShards           = 16
	// traceTextPerEntry is the average text (experiment id and subject)
	// a generation holds per entry before it counts as full: it bounds the
	// memory of a generation whatever the length of the subjects.
	traceTextPerEntry = 256
)

type traceKey [16]byte

type traceTag struct {
	experimentID string
	cohort       telemetry.Cohort
	// subject is the deciding event's subject (its randomization unit):
	// an event tagged by the trace without a subject of its own takes it,
	// so per-unit analysis counts it for the user whose request it served.
	subject string
}

// traceSlot is one remembered trace. It holds no pointers (the texts are
// offsets into the generation's byte arena), so the garbage collector
// never scans the tables, and remembering a trace allocates nothing.
type traceSlot struct {
	key             traceKey
	expOff, subjOff uint32
	expLen, subjLen uint32
	cohort          telemetry.Cohort
}

// traceGen is one generation: an open-addressed table (linear probing,
// at most half full, never deleted from: a generation is cleared whole)
// and the arena its texts live in.
//
// ctrl holds one byte per slot: 0 for a free slot, else traceUsed and
// seven bits of the key's hash. A probe reads the slots only where that
// byte matches, so a trace not in the table (every new trace, in both
// generations) is answered from ctrl alone: 16 KiB per generation of a
// shard at the default size, where the slots are 36 bytes each (19 MiB
// for all 32 tables, beyond the caches, so every probe of them was a
// cache miss: traceGen.find was 8 % of serve's profile at path A, every
// event of its own trace).
type traceGen struct {
	slots []traceSlot
	ctrl  []uint8
	n     int
	text  []byte
	// lastExp is the arena copy of the experiment id stored last: the
	// entries of one experiment share it.
	lastExpOff, lastExpLen uint32
}

// traceUsed marks a used slot's ctrl byte; its other seven bits are the
// top bits of the key's hash (the slot is chosen by the low bits).
const traceUsed = 0x80

func traceCtrl(h uint64) uint8 { return traceUsed | uint8(h>>57) }

// find returns k's slot and true, or the free slot where k goes and false.
func (g *traceGen) find(k traceKey, h uint64) (int, bool) {
	mask := uint64(len(g.ctrl) - 1)
	want := traceCtrl(h)
	for i := h & mask; ; i = (i + 1) & mask {
		switch c := g.ctrl[i]; {
		case c == 0:
			return int(i), false
		case c == want && g.slots[i].key == k:
			return int(i), true
		}
	}
}

// clear empties the generation: the slots are free once their ctrl
// bytes are (put overwrites a slot whole).
func (g *traceGen) clear() {
	clear(g.ctrl)
	g.n, g.text, g.lastExpOff, g.lastExpLen = 0, g.text[:0], 0, 0
}

// put fills the free slot i with k (of hash h) and t, the texts copied
// into the arena.
func (g *traceGen) put(i int, k traceKey, h uint64, t traceTag) {
	if g.lastExpLen == 0 || string(g.text[g.lastExpOff:g.lastExpOff+g.lastExpLen]) != t.experimentID {
		g.lastExpOff, g.lastExpLen = uint32(len(g.text)), uint32(len(t.experimentID))
		g.text = append(g.text, t.experimentID...)
	}
	subjOff := uint32(len(g.text))
	g.text = append(g.text, t.subject...)
	g.slots[i] = traceSlot{key: k, expOff: g.lastExpOff, expLen: g.lastExpLen, subjOff: subjOff,
		subjLen: uint32(len(t.subject)), cohort: t.cohort}
	g.ctrl[i] = traceCtrl(h)
	g.n++
}

type traceShard struct {
	mu        sync.Mutex
	cur, prev *traceGen
	born      time.Time
	// exp is the experiment id string handed out last: lookups of the
	// same experiment share it instead of allocating it again.
	exp string
}

// TraceCohorts is the bounded trace -> (experiment, cohort) memory of one
// serve process; safe for concurrent use. Build it with NewTraceCohorts.
type TraceCohorts struct {
	shards  [traceShards]traceShard
	size    int // per shard and generation
	maxText int // arena bytes per shard and generation
	ttl     time.Duration
	now     func() time.Time
	seed    maphash.Seed
}

// NewTraceCohorts returns a cache of about size traces per generation
// (0: DefaultTraceCacheSize) retired after ttl (0: DefaultTraceCacheTTL).
// now may be nil (time.Now). Its tables are allocated here, once: about
// 37 bytes per slot (a 36-byte slot and its ctrl byte) and generation,
// at most half full.
func NewTraceCohorts(size int, ttl time.Duration, now func() time.Time) *TraceCohorts {
	if size <= 0 {
		size = DefaultTraceCacheSize
	}
	if ttl <= 0 {
		ttl = DefaultTraceCacheTTL
	}
	if now == nil {
		now = time.Now
	}
	per := max(1, size/traceShards)
	c := &TraceCohorts{size: per, maxText: per * traceTextPerEntry, ttl: ttl, now: now, seed: maphash.MakeSeed()}
	slots := 1 << bits.Len(uint(2*per-1)) // a power of two >= 2*per
	t := now()
	for i := range c.shards {
		sh := &c.shards[i]
		sh.cur = &traceGen{slots: make([]traceSlot, slots), ctrl: make([]uint8, slots)}
		sh.prev = &traceGen{slots: make([]traceSlot, slots), ctrl: make([]uint8, slots)}
		sh.born = t
	}
	return c
}

func parseTraceKey(id string) (traceKey, bool) {
	var k traceKey
	if len(id) != 32 {
		return k, false
	}
	bad := byte(0)
	for i := range k {
		hi, lo := hexVal[id[2*i]], hexVal[id[2*i+1]]
		bad |= hi | lo
		k[i] = hi<<4 | lo&0x0f
	}
	return k, bad&0x10 == 0
}

// hexVal is a hex digit's value, 0x10 for a byte that is not one.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0x10
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// hash is seeded per process: trace ids come from clients, and a fixed
// hash would let one send ids that all probe the same slots.
func (c *TraceCohorts) hash(k traceKey) uint64 { return maphash.Comparable(c.seed, k) }

// shard is chosen by the trace id's last byte (random in real ids), the
// slot within it by the seeded hash.
func (c *TraceCohorts) shard(k traceKey) *traceShard { return &c.shards[k[15]%traceShards] }

// rotate retires the current generation when full (traces or text) or
// too old; the previous one is cleared and becomes the current. mu held.
// It reports whether it rotated.
func (c *TraceCohorts) rotate(s *traceShard, textLen int, now time.Time) bool {
	if s.cur.n < c.size && len(s.cur.text)+textLen <= c.maxText && now.Sub(s.born) < c.ttl {
		return false
	}
	s.prev, s.cur = s.cur, s.prev
	s.cur.clear()
	s.born = now
	return true
}

// remember records a decision unless the trace already has one (the first
// decision seen wins).
func (c *TraceCohorts) remember(k traceKey, t traceTag, now time.Time) {
	h := c.hash(k)
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.cur.find(k, h)
	if ok {
		return
	}
	if old, ok := s.prev.find(k, h); ok {
		t = s.tag(s.prev, old) // keep the first decision, refreshed into this generation
	}
	if c.rotate(s, len(t.experimentID)+len(t.subject), now) {
		i, _ = s.cur.find(k, h)
	}
	s.cur.put(i, k, h, t)
}

// tag reads slot i's decision back; mu held.
func (s *traceShard) tag(g *traceGen, i int) traceTag {
	sl := &g.slots[i]
	exp := g.text[sl.expOff : sl.expOff+sl.expLen]
	if string(exp) != s.exp {
		s.exp = string(exp)
	}
	t := traceTag{experimentID: s.exp, cohort: sl.cohort}
	if sl.subjLen > 0 {
		t.subject = string(g.text[sl.subjOff : sl.subjOff+sl.subjLen])
	}
	return t
}

func (c *TraceCohorts) lookup(k traceKey) (traceTag, bool) {
	h := c.hash(k)
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.cur.find(k, h); ok {
		return s.tag(s.cur, i), true
	}
	if i, ok := s.prev.find(k, h); ok {
		return s.tag(s.prev, i), true
	}
	return traceTag{}, false
}

// Len is the number of traces remembered (both generations).
func (c *TraceCohorts) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.cur.n + s.prev.n
		s.mu.Unlock()
	}
	return n
}

// traceWalk is the state of the trace step's first pass over one
// request's events (note).
type traceWalk struct {
	// noted: the pass was done as the events were decoded (JSON), so
	// applyTraces skips it.
	noted bool
	// untagged: some event with a trace id has no experiment or cohort.
	untagged bool
	haveNow  bool
	haveLast bool
	now      time.Time
	last     traceKey
}

// note is the first pass of the trace step for one event: a tagged event
// with a trace id records its trace's decision. The JSON decoder calls it
// on each event as soon as the event is accepted, while the event is in
// the cache: as a pass of its own after the whole request was decoded it
// waited on a cache miss per event (reading the event back), two thirds
// of applyTraces' samples in serve's profile at path A (perf, 1000 events
// per request, 8 senders).
func (c *TraceCohorts) note(e *telemetry.Event, w *traceWalk) {
	if e.TraceID == "" {
		return
	}
	if e.Cohort == telemetry.CohortNone || e.ExperimentID == "" {
		w.untagged = true
		return
	}
	k, ok := parseTraceKey(e.TraceID)
	if !ok || (w.haveLast && k == w.last) {
		return
	}
	w.last, w.haveLast = k, true
	if !w.haveNow {
		w.now, w.haveNow = c.now(), true
	}
	c.remember(k, traceTag{experimentID: e.ExperimentID, cohort: e.Cohort, subject: e.SubjectID}, w.now)
}

// applyTraces is the trace step of tagging, over the events of one
// request: first every tagged event with a trace id records its trace's
// decision (note; already done when s.walk.noted), then every untagged
// one takes its trace's, marked chaos.cohort.source=trace. The new
// attribute arrays come from s's arena when s is not nil.
func (c *TraceCohorts) applyTraces(events []telemetry.Event, s *state) {
	if c == nil || len(events) == 0 {
		return
	}
	var w traceWalk
	if s != nil && s.walk.noted {
		w = s.walk
	} else {
		for i := range events {
			c.note(&events[i], &w)
		}
	}
	untagged := w.untagged
	if !untagged {
		return
	}
	for i := range events {
		e := &events[i]
		if e.TraceID == "" || e.ExperimentID != "" || e.Cohort != telemetry.CohortNone {
			continue
		}
		k, ok := parseTraceKey(e.TraceID)
		if !ok {
			continue
		}
		t, ok := c.lookup(k)
		if !ok {
			continue
		}
		e.ExperimentID, e.Cohort = t.experimentID, t.cohort
		if e.SubjectID == "" {
			e.SubjectID = t.subject
		}
		// New arrays for keys and values (from the request's arena, or one
		// allocation): the old ones may be shared and are never grown in
		// place.
		nk := len(e.AttrKeys) + 1
		var buf []string
		if s != nil {
			buf = s.strSlots(2 * nk)
		} else {
			buf = make([]string, 2*nk)
		}
		copy(buf, e.AttrKeys)
		buf[nk-1] = telemetry.AttrCohortSource
		copy(buf[nk:], e.AttrValues)
		buf[2*nk-1] = telemetry.CohortSourceTrace
		e.AttrKeys, e.AttrValues = buf[:nk:nk], buf[nk:]
	}
}
