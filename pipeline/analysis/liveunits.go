package analysis

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// UnitRowSource is a UnitTallySource that can also return the per-bucket,
// per-unit rows behind a tally (the ClickHouse Store), so a Monitor reads
// each settled bucket's units once and re-reads only the open tail.
type UnitRowSource interface {
	SLIUnitRows(ctx context.Context, experimentID string, w Window, sli *SLI, dirty []uint32, perBucket bool) ([]query.UnitRow, error)
	// SLIUnitSums is SLIUnitRows with perBucket false for a window of at
	// most rowsAtMost raw rows (negative: unknown), read cheaper when
	// that is small enough (query.Reader.SLIUnitSums).
	SLIUnitSums(ctx context.Context, experimentID string, w Window, sli *SLI, dirty []uint32, rowsAtMost int64) ([]query.UnitRow, error)
	// UnitCacheScope names what the rows come from (the database), so
	// monitors of different databases never share cached buckets.
	UnitCacheScope() string
}

// SLIUnitRows implements UnitRowSource with query.Reader.SLIUnitRows.
func (s *Store) SLIUnitRows(ctx context.Context, experimentID string, w Window, sli *SLI, dirty []uint32, perBucket bool) ([]query.UnitRow, error) {
	return s.reader().SLIUnitRows(ctx, experimentID, w, sli.rawFilter(), dirty, perBucket)
}

// SLIUnitSums implements UnitRowSource with query.Reader.SLIUnitSums.
func (s *Store) SLIUnitSums(ctx context.Context, experimentID string, w Window, sli *SLI, dirty []uint32, rowsAtMost int64) ([]query.UnitRow, error) {
	return s.reader().SLIUnitSums(ctx, experimentID, w, sli.rawFilter(), dirty, rowsAtMost)
}

// UnitCacheScope implements UnitRowSource: the database read.
func (s *Store) UnitCacheScope() string { return s.C.DB }

var _ UnitRowSource = (*Store)(nil)

// settledUnits is the process-wide cache of settled buckets' per-unit rows,
// keyed by database, experiment, SLI filter and bucket: every Monitor of
// the process (every watcher of `analyze live --web`, every experiment of
// a war room) reads a settled bucket from ClickHouse once. It holds at
// most maxSettledUnitRows rows; when full it starts over (a monitor that
// already folded a bucket into its counts never reads it again).
var settledUnits = struct {
	sync.Mutex
	rows  map[unitBucketKey][]query.UnitRow
	count int
}{rows: map[unitBucketKey][]query.UnitRow{}}

const maxSettledUnitRows = 4 << 20

// maxCachedCatchUp is the longest settled range (seconds) read per bucket
// into the shared cache; longer ones are read summed per unit.
const maxCachedCatchUp = 600

type unitBucketKey struct {
	scope, experiment, sli string
	bucket                 uint32
}

// cachedUnitRows returns the cached rows of every bucket in [from, to)
// (10-second steps) and whether all of them were cached.
func cachedUnitRows(scope, exp, sli string, from, to uint32) ([]query.UnitRow, bool) {
	settledUnits.Lock()
	defer settledUnits.Unlock()
	var out []query.UnitRow
	for b := from; b < to; b += uint32(bucketWidth / time.Second) {
		rows, ok := settledUnits.rows[unitBucketKey{scope, exp, sli, b}]
		if !ok {
			return nil, false
		}
		out = append(out, rows...)
	}
	return out, true
}

// cacheUnitRows stores the rows of every bucket in [from, to), empty
// buckets included.
func cacheUnitRows(scope, exp, sli string, from, to uint32, rows []query.UnitRow) {
	settledUnits.Lock()
	defer settledUnits.Unlock()
	if settledUnits.count+len(rows) > maxSettledUnitRows {
		settledUnits.rows, settledUnits.count = map[unitBucketKey][]query.UnitRow{}, 0
	}
	by := map[uint32][]query.UnitRow{}
	for _, r := range rows {
		by[r.Bucket] = append(by[r.Bucket], r)
	}
	for b := from; b < to; b += uint32(bucketWidth / time.Second) {
		settledUnits.rows[unitBucketKey{scope, exp, sli, b}] = by[b]
	}
	settledUnits.count += len(rows)
}

// unitAcc holds one SLI's per-unit counts of the settled buckets and the
// sums over units the delta method needs, updated as buckets settle.
type unitAcc struct {
	until uint32 // buckets before until are folded in
	units map[unitKey][2]int64
	sums  map[telemetry.Cohort]query.UnitTally
}

type unitKey struct {
	cohort telemetry.Cohort
	unit   uint64
}

func newUnitAcc(from uint32) *unitAcc {
	// Buckets start at multiples of 10 s; the first whole one counts (as
	// in the view reads, bucket >= since).
	w := uint32(bucketWidth / time.Second)
	from = (from + w - 1) / w * w
	return &unitAcc{until: from, units: map[unitKey][2]int64{}, sums: map[telemetry.Cohort]query.UnitTally{}}
}

// contribute adds sign times one unit's (n events, e errors) terms.
func contribute(t *query.UnitTally, n, e int64, sign float64) {
	fn, fe := float64(n), float64(e)
	g := fn - fe
	if sign > 0 {
		t.Units++
	} else {
		t.Units--
	}
	t.AddSquares(fn, fe, g, sign)
}

// addTo folds rows into sums, with units the per-unit counts before them
// (updated in place). The cohorts' sums are kept in an array while the
// rows are folded (a first look folds one row per unit).
func addTo(sums map[telemetry.Cohort]query.UnitTally, units map[unitKey][2]int64, rows []query.UnitRow, base func(unitKey) [2]int64) {
	var ts [telemetry.CohortExperiment + 1]query.UnitTally
	var seen [telemetry.CohortExperiment + 1]bool
	for c, t := range sums {
		if c <= telemetry.CohortExperiment {
			ts[c], seen[c] = t, true
		}
	}
	for _, r := range rows {
		if r.Cohort > telemetry.CohortExperiment {
			continue // not a cohort: the readers check, nothing to count
		}
		seen[r.Cohort] = true
		t := &ts[r.Cohort]
		t.Events += r.Events
		t.Errors += r.Errors
		t.Good += r.Events - r.Errors
		if r.Unit == 0 {
			// Events without a unit: each is a unit of its own.
			t.Units += r.Events
			t.SumN2 += float64(r.Events)
			t.SumE2 += float64(r.Errors)
			t.SumEN += float64(r.Errors)
			t.SumG2 += float64(r.Events - r.Errors)
			t.SumGN += float64(r.Events - r.Errors)
			continue
		}
		k := unitKey{r.Cohort, r.Unit}
		old, ok := units[k]
		if !ok {
			old = base(k)
		}
		if old[0] > 0 {
			contribute(t, old[0], old[1], -1)
		}
		now := [2]int64{old[0] + r.Events, old[1] + r.Errors}
		contribute(t, now[0], now[1], +1)
		units[k] = now
	}
	for c := range ts {
		if seen[c] {
			sums[telemetry.Cohort(c)] = ts[c]
		}
	}
}

// settle folds settled rows into the accumulator.
func (a *unitAcc) settle(rows []query.UnitRow, until uint32) {
	if len(a.units) == 0 && len(rows) > 0 {
		// A first look folds in one row per unit: size the map once
		// instead of growing it through every doubling.
		a.units = make(map[unitKey][2]int64, len(rows))
	}
	addTo(a.sums, a.units, rows, func(unitKey) [2]int64 { return [2]int64{} })
	a.until = until
}

// with returns the sums of the settled buckets plus the open tail's rows,
// leaving the accumulator as it was.
func (a *unitAcc) with(tail []query.UnitRow) map[telemetry.Cohort]query.UnitTally {
	out := make(map[telemetry.Cohort]query.UnitTally, len(a.sums))
	for c, t := range a.sums {
		out[c] = t
	}
	addTo(out, map[unitKey][2]int64{}, tail, func(k unitKey) [2]int64 { return a.units[k] })
	return out
}

// liveUnits is the source a Monitor hands the analysis: SLIUnitTally of
// the SLIs the views serve is answered from per-SLI accumulators of the
// settled buckets plus a read of the open tail; everything else goes to
// the Monitor's source.
type liveUnits struct {
	Source
	rows    UnitRowSource
	units   UnitSource
	accs    map[string]*unitAcc
	settled time.Time // buckets before this have settled (Monitor.settledUntil)
	// rowsAtMost bounds the raw rows of the look's window (the bucket
	// rows', every cohort; negative: unknown), for SLIUnitSums.
	rowsAtMost int64
	// quiet is where the look's bucket rows (read before the unit rows and
	// the sample, from the previous look's settled end) show no raw row up
	// to the window's end (quietFrom; zero: unknown). A read of [from,
	// until) with from at or after quiet would return nothing, so it is
	// not sent: a watcher of an experiment whose traffic has stopped (or
	// paused) asks ClickHouse for the tally alone (18.16 charges about
	// 2.5 ms of CPU per statement however little it reads). What the
	// tally has not seen yet, an insert in flight between the two reads,
	// is read at the next look, which reads the tally again; for the
	// buckets that settle at this look the counts then agree with the
	// bucket rows, which are kept from the same tally.
	quiet time.Time

	samples    SampleEventSource // nil: latency samples read whole
	sampleAccs map[string]*sampleAcc
}

// quietAt reports whether the look's bucket rows show no raw row from
// from (unix seconds) to the window's end.
func (l *liveUnits) quietAt(from int64) bool {
	return !l.quiet.IsZero() && l.quiet.Unix() <= from
}

var (
	_ UnitSource      = (*liveUnits)(nil)
	_ UnitTallySource = (*liveUnits)(nil)
)

func (l *liveUnits) SLIUnitCounts(ctx context.Context, experimentID string, w Window, sli *SLI, unitAttr string) (map[telemetry.Cohort]query.UnitTally, error) {
	return l.units.SLIUnitCounts(ctx, experimentID, w, sli, unitAttr)
}

// SLIUnitTally reads the buckets that settled since the previous look once
// (from the process-wide cache when another monitor already read them),
// folds them into the SLI's accumulator, and reads the open tail.
func (l *liveUnits) SLIUnitTally(ctx context.Context, experimentID string, w Window, sli *SLI, dirty []uint32) (map[telemetry.Cohort]query.UnitTally, error) {
	k := sli.key()
	since := uint32(w.Since.Unix())
	acc, ok := l.accs[k]
	if !ok {
		acc = newUnitAcc(since)
		l.accs[k] = acc
	}
	settled := uint32(l.settled.Unix())
	if settled > uint32(ceilUnix(w.Until)) {
		settled = uint32(ceilUnix(w.Until))
	}
	scope := l.rows.UnitCacheScope()
	until := uint32(ceilUnix(w.Until))
	if settled > acc.until && settled-acc.until <= maxCachedCatchUp && until > settled && !l.quietAt(int64(settled)) {
		if _, ok := cachedUnitRows(scope, experimentID, k, acc.until, settled); !ok {
			// The buckets that settled since the previous look and the
			// open tail in one read, per bucket, split at settled.
			rows, err := l.rows.SLIUnitRows(ctx, experimentID, Window{Since: time.Unix(int64(acc.until), 0), Until: w.Until}, sli, dirty, true)
			if err != nil {
				return nil, fmt.Errorf("unit rows: %w", err)
			}
			var done, tail []query.UnitRow
			for _, r := range rows {
				if r.Bucket < settled {
					done = append(done, r)
				} else {
					tail = append(tail, r)
				}
			}
			cacheUnitRows(scope, experimentID, k, acc.until, settled, done)
			acc.settle(done, settled)
			return acc.with(tail), nil
		}
	}
	if settled > acc.until {
		rows, ok := cachedUnitRows(scope, experimentID, k, acc.until, settled)
		if !ok && l.quietAt(int64(acc.until)) {
			// Nothing settled since the previous look (not cached: the
			// shared cache holds what ClickHouse answered).
			rows, ok = nil, true
		}
		if !ok {
			// A long catch-up (the first look at a long window) is read
			// summed per unit and not cached; the buckets that settle
			// look by look are read per bucket and shared.
			perBucket := settled-acc.until <= maxCachedCatchUp
			from := Window{Since: time.Unix(int64(acc.until), 0), Until: time.Unix(int64(settled), 0)}
			var err error
			if perBucket {
				rows, err = l.rows.SLIUnitRows(ctx, experimentID, from, sli, dirty, true)
			} else {
				rows, err = l.rows.SLIUnitSums(ctx, experimentID, from, sli, dirty, l.rowsAtMost)
			}
			if err != nil {
				return nil, fmt.Errorf("settled unit rows: %w", err)
			}
			if perBucket {
				cacheUnitRows(scope, experimentID, k, acc.until, settled, rows)
			}
		}
		acc.settle(rows, settled)
	}
	if acc.until >= uint32(ceilUnix(w.Until)) || l.quietAt(int64(acc.until)) {
		return acc.with(nil), nil
	}
	tail, err := l.rows.SLIUnitSums(ctx, experimentID, Window{Since: time.Unix(int64(acc.until), 0), Until: w.Until}, sli, dirty, l.rowsAtMost)
	if err != nil {
		return nil, fmt.Errorf("open unit rows: %w", err)
	}
	return acc.with(tail), nil
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// SampleEventSource can return the latency sample with each event's time
// (the ClickHouse Store), so a Monitor keeps the sample of settled seconds
// and thins it as the sample rate falls instead of reading it again.
type SampleEventSource interface {
	LatencySampleEvents(ctx context.Context, experimentID string, w Window, sli *SLI, rate SampleRate) ([]query.SampleEvent, error)
}

// LatencySampleEvents implements SampleEventSource with
// query.Reader.LatencySampleEvents.
func (s *Store) LatencySampleEvents(ctx context.Context, experimentID string, w Window, sli *SLI, rate SampleRate) ([]query.SampleEvent, error) {
	return s.reader().LatencySampleEvents(ctx, experimentID, w, sli.rawFilter(), rate)
}

var _ SampleEventSource = (*Store)(nil)

// sampleAcc is one latency filter's sample of the settled part of the
// window: events before until, each read at a rate at least minRate.
type sampleAcc struct {
	since, until time.Time
	minRate      SampleRate
	events       []query.SampleEvent
}

func atLeast(a, b SampleRate) bool {
	return a.SecondPPM >= b.SecondPPM && a.ControlPPM >= b.ControlPPM && a.ExperimentPPM >= b.ExperimentPPM
}

// LatencySample reads the seconds that settled since the previous look
// once, keeps them, and reads the open tail; the kept events are thinned
// to the current rate (which only falls as the cohorts grow), so the
// answer is the sample a whole-window read at this rate gives. A rate
// above the one kept starts over.
func (l *liveUnits) LatencySample(ctx context.Context, experimentID string, w Window, sli *SLI, rate SampleRate) (Sample, error) {
	if l.samples == nil {
		return l.Source.LatencySample(ctx, experimentID, w, sli, rate)
	}
	k := sli.key()
	acc, ok := l.sampleAccs[k]
	if !ok || !acc.since.Equal(w.Since) || !atLeast(acc.minRate, rate) {
		acc = &sampleAcc{since: w.Since, until: w.Since, minRate: rate}
		l.sampleAccs[k] = acc
	}
	settled := l.settled
	if settled.After(w.Until) {
		settled = w.Until
	}
	var tail []query.SampleEvent
	tailRead := false
	quiet := l.quietAt(acc.until.Unix())
	if settled.After(acc.until) {
		// The seconds that settled since the previous look and the open
		// tail in one read, split at settled (none when the bucket rows
		// show nothing since acc.until).
		var evs []query.SampleEvent
		if !quiet {
			var err error
			if evs, err = l.samples.LatencySampleEvents(ctx, experimentID, Window{Since: acc.until, Until: w.Until}, sli, rate); err != nil {
				return Sample{}, fmt.Errorf("latency sample: %w", err)
			}
		}
		cut := uint64(settled.UnixNano())
		done := evs[:0:0]
		for _, e := range evs {
			if e.TimeNs < cut {
				done = append(done, e)
			} else {
				tail = append(tail, e)
			}
		}
		evs, tailRead = done, true
		kept := acc.events[:0]
		for _, e := range acc.events {
			if query.Sampled(e.TimeNs, e.Cohort, rate) {
				kept = append(kept, e)
			}
		}
		kept = append(kept, evs...)
		acc.events, acc.until, acc.minRate = kept, settled, rate
	}
	out := make([]query.SampleEvent, 0, len(acc.events))
	for _, e := range acc.events {
		if query.Sampled(e.TimeNs, e.Cohort, rate) {
			out = append(out, e)
		}
	}
	if w.Until.After(acc.until) && !tailRead && !l.quietAt(acc.until.Unix()) {
		var err error
		tail, err = l.samples.LatencySampleEvents(ctx, experimentID, Window{Since: acc.until, Until: w.Until}, sli, rate)
		if err != nil {
			return Sample{}, fmt.Errorf("open latency sample: %w", err)
		}
	}
	out = append(out, tail...)
	return query.SampleOf(out), nil
}
