package tag

import (
	"encoding/hex"
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
// generations of at most Size traces each; the current generation is
// retired when it is full or older than TTL, and the previous one is then
// dropped. A decision is therefore remembered for at least
// min(TTL, the time it takes Size new traces to be decided) and at most
// 2·TTL. Within one request every decision is applied whatever the order of
// its spans. What this cache cannot see (a span that arrives before the
// deciding one in an earlier request, a decision older than the cache
// remembers, or one made through another serve instance) stays untagged
// here and is resolved in ClickHouse from the trace_cohorts view by the
// analysis queries (queries/schema/0010_trace_cohorts.up.sql).

// Defaults of TraceCohorts.
const (
	DefaultTraceCacheSize = 100_000
	DefaultTraceCacheTTL  = 5 * time.Minute
	traceShards           = 16
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

type traceShard struct {
	mu        sync.Mutex
	cur, prev map[traceKey]traceTag
	born      time.Time
}

// TraceCohorts is the bounded trace -> (experiment, cohort) memory of one
// serve process; safe for concurrent use. Build it with NewTraceCohorts.
type TraceCohorts struct {
	shards [traceShards]traceShard
	size   int // per shard and generation
	ttl    time.Duration
	now    func() time.Time
}

// NewTraceCohorts returns a cache of about size traces per generation
// (0: DefaultTraceCacheSize) retired after ttl (0: DefaultTraceCacheTTL).
// now may be nil (time.Now).
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
	c := &TraceCohorts{size: max(1, size/traceShards), ttl: ttl, now: now}
	t := now()
	for i := range c.shards {
		c.shards[i].cur = make(map[traceKey]traceTag)
		c.shards[i].born = t
	}
	return c
}

func parseTraceKey(id string) (traceKey, bool) {
	var k traceKey
	if len(id) != 32 {
		return k, false
	}
	if _, err := hex.Decode(k[:], []byte(id)); err != nil {
		return k, false
	}
	return k, true
}

func (c *TraceCohorts) shard(k traceKey) *traceShard { return &c.shards[k[15]%traceShards] }

// rotate retires the current generation when full or too old; mu held.
func (s *traceShard) rotate(size int, ttl time.Duration, now time.Time) {
	if len(s.cur) < size && now.Sub(s.born) < ttl {
		return
	}
	s.prev, s.cur, s.born = s.cur, make(map[traceKey]traceTag, len(s.cur)), now
}

// remember records a decision unless the trace already has one (the first
// decision seen wins).
func (c *TraceCohorts) remember(k traceKey, t traceTag, now time.Time) {
	s := c.shard(k)
	s.mu.Lock()
	if _, ok := s.cur[k]; !ok {
		if old, ok := s.prev[k]; ok {
			t = old // keep the first decision, refreshed into this generation
		}
		s.rotate(c.size, c.ttl, now)
		s.cur[k] = t
	}
	s.mu.Unlock()
}

func (c *TraceCohorts) lookup(k traceKey) (traceTag, bool) {
	s := c.shard(k)
	s.mu.Lock()
	t, ok := s.cur[k]
	if !ok {
		t, ok = s.prev[k]
	}
	s.mu.Unlock()
	return t, ok
}

// Len is the number of traces remembered (both generations).
func (c *TraceCohorts) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.cur) + len(s.prev)
		s.mu.Unlock()
	}
	return n
}

// applyTraces is the trace step of tagging, over the events of one
// request: first every tagged event with a trace id records its trace's
// decision, then every untagged one takes its trace's, marked
// chaos.cohort.source=trace. It returns how many it tagged by trace.
func (c *TraceCohorts) applyTraces(events []telemetry.Event) int {
	if c == nil || len(events) == 0 {
		return 0
	}
	now := c.now()
	untagged := false
	var last traceKey
	haveLast := false
	for i := range events {
		e := &events[i]
		if e.TraceID == "" {
			continue
		}
		if e.Cohort == telemetry.CohortNone || e.ExperimentID == "" {
			untagged = true
			continue
		}
		k, ok := parseTraceKey(e.TraceID)
		if !ok || (haveLast && k == last) {
			continue
		}
		last, haveLast = k, true
		c.remember(k, traceTag{experimentID: e.ExperimentID, cohort: e.Cohort, subject: e.SubjectID}, now)
	}
	if !untagged {
		return 0
	}
	n := 0
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
		// New arrays for keys and values (one allocation): the old ones may
		// be shared and are never grown in place.
		nk := len(e.AttrKeys) + 1
		buf := make([]string, 2*nk)
		copy(buf, e.AttrKeys)
		buf[nk-1] = telemetry.AttrCohortSource
		copy(buf[nk:], e.AttrValues)
		buf[2*nk-1] = telemetry.CohortSourceTrace
		e.AttrKeys, e.AttrValues = buf[:nk:nk], buf[nk:]
		n++
	}
	return n
}
