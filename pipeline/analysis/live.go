package analysis

import (
	"context"
	"fmt"
	"time"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/stats"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// DefaultSettleAfter is how old a 10-second bucket must be before the
// monitor stops re-reading it: ingest, Kafka and the sink deliver within a
// few seconds, so older buckets are final.
const DefaultSettleAfter = 30 * time.Second

// DefaultLiveSamplePerCohort is the latency sample per cohort of a live
// look (half of compare's: a look every 5 s re-ranks it).
const DefaultLiveSamplePerCohort = 5000

// baselineAhead is how much further back than it needs a Monitor reads its
// baseline when it reads it (see Look).
const baselineAhead = time.Minute

// bucketWidth is the cohort_stats bucket.
const bucketWidth = 10 * time.Second

// Monitor is the live comparison: every Look re-reads only the buckets of
// the cohort_stats view that have not settled, adds the cached settled
// ones, and judges the cumulative counts with anytime-valid tests (the
// mixture SPRT of stats.AlwaysValidP for ratios, a mixture test on the
// rank-test probability index for latency), so looking every few seconds
// keeps the false-fail rate at alpha. The sample-ratio check uses the
// sequential Dirichlet-multinomial test. A Monitor is not safe for
// concurrent use.
type Monitor struct {
	src  Source
	req  Request
	set  Settings
	slis []SLI
	seqs []*seqState
	fam  *liveFamily
	srm  *stats.SequentialSRM
	last CohortSizes

	// SettleAfter overrides DefaultSettleAfter (tests, benchmarks): how
	// old a bucket must be to settle when the watermark is unknown.
	SettleAfter time.Duration
	// Watermark, when set, gives the event time up to which the pipeline
	// has delivered everything (the sink's watermark, from sink_progress):
	// a bucket settles once it lies wholly before it. When it is nil or
	// unknown (ok false) buckets settle at now - SettleAfter, and
	// SettledBy says so.
	Watermark func(ctx context.Context, now time.Time) (wm time.Time, ok bool, why string, err error)
	settledBy string

	settled      []BucketRow // [Since, settledUntil)
	settledUntil time.Time
	before       []BucketRow // [beforeFrom, Since), outside the experiment cohort
	beforeFrom   time.Time
	crossed      map[int]time.Time
	units        *liveUnits // nil when the source cannot serve unit rows
	// traces keeps, from look to look, whether a trace was decided for
	// the experiment once one was (query.WithTraceMemoKept): a look then
	// does not ask again.
	traces query.DecidedTraces
}

// NewMonitor prepares a live comparison from req.Window.Since; a zero
// req.Window.Until means "until now" on every look.
func NewMonitor(src Source, req Request, set Settings) (*Monitor, error) {
	if set.SamplePerCohort == 0 {
		set.SamplePerCohort = DefaultLiveSamplePerCohort
	}
	set = set.withDefaults()
	if err := set.validate(); err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	if err := telemetry.ValidateID(req.ExperimentID); err != nil {
		return nil, fmt.Errorf("monitor: experiment id: %w", err)
	}
	m := &Monitor{
		src: src, req: req, set: set, slis: SLIsOf(req.Experiment), SettleAfter: DefaultSettleAfter,
		settledUntil: req.Window.Since, beforeFrom: req.Window.Since, crossed: map[int]time.Time{},
	}
	if rs, ok := src.(UnitRowSource); ok {
		if us, ok := src.(UnitSource); ok {
			m.units = &liveUnits{Source: src, rows: rs, units: us, accs: map[string]*unitAcc{}, sampleAccs: map[string]*sampleAcc{}}
			m.units.samples, _ = src.(SampleEventSource)
		}
	}
	fam, err := newLiveFamily(set.Alpha, set.Adjustment)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	m.fam = fam
	for _, s := range m.slis {
		st := &seqState{minP: 1}
		if s.Type.IsRatio() {
			avp, err := stats.NewAlwaysValidP(set.Monitor)
			if err != nil {
				return nil, fmt.Errorf("monitor sli %q: %w", s.Name, err)
			}
			st.avp = avp
		}
		m.seqs = append(m.seqs, st)
	}
	if e := req.Experiment; e != nil && e.Cohorts.ExpectedSplit.Experiment > 0 && e.Cohorts.ExpectedSplit.Control > 0 {
		srm, err := stats.NewSequentialSRM([]float64{e.Cohorts.ExpectedSplit.Control, e.Cohorts.ExpectedSplit.Experiment}, 0, 0)
		if err != nil {
			return nil, fmt.Errorf("monitor: %w", err)
		}
		m.srm = srm
	}
	return m, nil
}

// Look reads the current numbers and returns the live result at now.
func (m *Monitor) Look(ctx context.Context, now time.Time) (*Result, error) {
	ctx = query.WithSharedSettle(query.WithTraceMemoKept(ctx, &m.traces))
	id := m.req.ExperimentID
	since := m.req.Window.Since
	until := now
	if !m.req.Window.Until.IsZero() && m.req.Window.Until.Before(now) {
		until = m.req.Window.Until
	}
	if !until.After(since) {
		until = since.Add(time.Second)
	}
	// The blast-radius baseline grows backwards with the elapsed time. A
	// read reaches baselineAhead further back, so the looks that follow
	// (each a few seconds further) find their baseline read already
	// instead of each reading one more bucket; the rows before the
	// baseline are left out below (baselineRows).
	elapsed := until.Sub(since)
	from := since.Add(-elapsed).Truncate(bucketWidth)
	if from.Before(m.beforeFrom) {
		from = from.Add(-baselineAhead)
	}
	var (
		recent, before []BucketRow
		err            error
	)
	if ar, ok := m.src.(AroundSource); ok && m.settledUntil.Equal(since) && m.beforeFrom.Equal(since) && from.Before(since) {
		// The first look: the baseline and the window adjoin, one read.
		before, recent, err = ar.BucketsAround(ctx, id, from, since, until, true)
		if err == nil {
			m.addBaseline(before, from)
		}
	} else {
		recent, err = m.src.Buckets(ctx, id, m.settledUntil, until, true)
	}
	if err != nil {
		return nil, fmt.Errorf("live %s: %w", id, err)
	}
	// Buckets wholly before the watermark (or, without one, older than
	// SettleAfter) are final: cache them.
	var (
		wm    time.Time
		known bool
		why   = "no watermark source"
	)
	if m.Watermark != nil {
		if wm, known, why, err = m.Watermark(ctx, now); err != nil {
			known, why = false, err.Error()
		}
	}
	cutoff := SettleCutoff(now, m.SettleAfter, wm, known)
	if known {
		m.settledBy = "the sink watermark (" + wm.UTC().Format(time.RFC3339) + ")"
	} else {
		m.settledBy = fmt.Sprintf("now - %s (the sink watermark is unknown: %s)", m.SettleAfter, why)
	}
	quietRows := recent
	if decided, known := query.TracesDecidedKnown(ctx, id, until); known && !decided {
		// No trace decided for the experiment: this look's unit and
		// sample reads skip the untagged traffic (they ask the same
		// memo), so only the experiment's own rows can give them rows;
		// untagged traffic that goes on after the experiment's stopped
		// leaves the look quiet.
		quietRows = taggedRows(recent)
	}
	quiet := quietFrom(quietRows, m.settledUntil)
	var fresh []BucketRow
	for _, r := range recent {
		if r.Bucket.Before(cutoff) {
			m.settled = append(m.settled, r)
		} else {
			fresh = append(fresh, r)
		}
	}
	if cutoff.After(m.settledUntil) {
		m.settledUntil = cutoff
	}
	if from.Before(m.beforeFrom) {
		rows, err := m.src.Buckets(ctx, id, from, m.beforeFrom, true)
		if err != nil {
			return nil, fmt.Errorf("live %s: baseline: %w", id, err)
		}
		m.addBaseline(rows, from)
	}
	during := make([]BucketRow, 0, len(m.settled)+len(fresh))
	during = append(append(during, m.settled...), fresh...)

	w := Window{Since: since, Until: until}
	src := m.src
	if m.units != nil {
		// Per-unit counts: settled buckets once, the open tail each look.
		m.units.settled = m.settledUntil
		m.units.rowsAtMost = rawRows(during)
		m.units.quiet = quiet
		src = m.units
	}
	obs, units, err := observe(ctx, src, id, w, m.slis, during, m.set, m.req.Experiment, nil)
	if err != nil {
		return nil, fmt.Errorf("live %s: %w", id, err)
	}
	req := m.req
	req.Window = w
	res := newResult(req, now, m.set, ModeSequential)
	res.Cohorts = cohortSizes(during)
	res.Unit = units.name
	basis, exposures := srmSizes(m.slis, during)
	if units.known() {
		basis, exposures = units.srmBasis()
	}
	res.SRM, err = m.srmLook(exposures)
	res.SRM.Basis, res.SRM.Control, res.SRM.Experiment = basis, exposures.Control, exposures.Experiment
	if err != nil {
		return nil, fmt.Errorf("live %s: %w", id, err)
	}
	js := judgeSettings{alpha: m.set.Alpha, share: expectedShare(m.req.Experiment), dur: w.Duration(), monitor: m.set.Monitor, minSample: m.set.MinLatencySample}
	if err := decide(res, m.slis, obs, m.seqs, m.fam, js, m.set); err != nil {
		return nil, fmt.Errorf("live %s: %w", id, err)
	}
	baseline := baselineRows(m.before, since.Add(-elapsed))
	res.BlastRadius, err = blastRadius(baseline, during, blastTolerance(m.slis), m.set.Alpha)
	if err != nil {
		return nil, fmt.Errorf("live %s: blast radius: %w", id, err)
	}
	res.StopConditions = stopStatuses(m.req.Experiment, res.Metrics, m.recentValues(during, until), m.crossed, now)
	for _, s := range res.StopConditions {
		res.Stop = res.Stop || s.Holds
	}
	res.Sanitize()
	return res, nil
}

// rawRows is the raw rows of bucket rows (their distinct events where
// that is more), every cohort: at least the rows the unit views hold for
// the same buckets.
func rawRows(rows []BucketRow) int64 {
	var n int64
	for _, r := range rows {
		n += max(r.Rows, r.Events)
	}
	return n
}

// quietFrom is where the bucket rows read from `from` on (tagged and
// untagged, as a look reads them; the tagged alone when the look found no
// trace decided, see Look) hold no raw row up to the window's end:
// the end of the last bucket with a row, or the first whole bucket from
// `from` when none has. A look reads the cohort tally before the per-unit
// rows and the latency sample (see liveUnits.quiet); the tally counts every
// row of the events table those reads count (0006_cohort_tally: kinds
// span, event and log, every experiment and the untagged traffic, by the
// bucket of event_time; they read synthetic = 0 and those kinds or fewer,
// of the experiment and of the untagged traffic resolved by trace), so
// from here on they would find nothing.
func quietFrom(rows []BucketRow, from time.Time) time.Time {
	q := from.Add(bucketWidth - time.Nanosecond).Truncate(bucketWidth)
	for _, r := range rows {
		if max(r.Rows, r.Events) > 0 {
			if end := r.Bucket.Add(bucketWidth); end.After(q) {
				q = end
			}
		}
	}
	return q
}

// taggedRows are the rows of rows in a cohort (not the untagged traffic).
func taggedRows(rows []BucketRow) []BucketRow {
	out := rows[:0:0]
	for _, r := range rows {
		if r.Cohort != telemetry.CohortNone {
			out = append(out, r)
		}
	}
	return out
}

// addBaseline keeps the baseline rows read for [from, beforeFrom).
func (m *Monitor) addBaseline(rows []BucketRow, from time.Time) {
	for _, r := range rows {
		if r.Cohort != telemetry.CohortExperiment {
			m.before = append(m.before, r)
		}
	}
	m.beforeFrom = from
}

// AroundSource can read a baseline and the window after it as one range
// (*Store): a Monitor's first look, where the two adjoin.
type AroundSource interface {
	BucketsAround(ctx context.Context, experimentID string, from, at, until time.Time, untagged bool) (before, after []BucketRow, err error)
}

// BucketsAround implements AroundSource with query.Reader.BucketsAround.
func (s *Store) BucketsAround(ctx context.Context, experimentID string, from, at, until time.Time, untagged bool) (before, after []BucketRow, err error) {
	return s.reader().BucketsAround(ctx, experimentID, from, at, until, untagged)
}

var _ AroundSource = (*Store)(nil)

// SettledBy says how the last Look decided which buckets settled: at the
// sink watermark, or at now - SettleAfter and why.
func (m *Monitor) SettledBy() string { return m.settledBy }

// SettleCutoff is the start of the first bucket that has not settled at
// now: buckets before it are final and read once. With the sink watermark
// known, a bucket settles once it lies wholly before the watermark (its
// end at or before wm), however long that takes; without one, once it is
// settleAfter old.
func SettleCutoff(now time.Time, settleAfter time.Duration, wm time.Time, known bool) time.Time {
	if known {
		if wm.After(now) {
			wm = now
		}
		return wm.Truncate(bucketWidth)
	}
	return now.Add(-settleAfter).Truncate(bucketWidth)
}

func baselineRows(rows []BucketRow, from time.Time) []BucketRow {
	out := rows[:0:0]
	for _, r := range rows {
		if !r.Bucket.Before(from) {
			out = append(out, r)
		}
	}
	return out
}

func (m *Monitor) srmLook(sizes CohortSizes) (SRM, error) {
	out := SRM{Test: "none", PValue: 1, Threshold: stats.DefaultSRMThreshold, ObservedExperimentShare: share(sizes)}
	if m.srm == nil {
		return out, nil
	}
	sizes.Control = max(sizes.Control, m.last.Control)
	sizes.Experiment = max(sizes.Experiment, m.last.Experiment)
	m.last = sizes
	r, err := m.srm.Update([]int64{sizes.Control, sizes.Experiment})
	if err != nil {
		return out, fmt.Errorf("srm: %w", err)
	}
	out.ExpectedExperimentShare = m.req.Experiment.Cohorts.ExpectedSplit.Experiment
	out.Test, out.PValue, out.Mismatch = "sequential_dirichlet", r.PValue, r.Mismatch
	return out, nil
}

// minStopWindow is the shortest recent window a stop condition is judged
// over, so one quiet bucket does not decide.
const minStopWindow = 30 * time.Second

// recentValues computes, for stop conditions on view-served ratio SLIs,
// the experiment cohort's value over the last max(for, 30s).
func (m *Monitor) recentValues(during []BucketRow, until time.Time) map[string]float64 {
	e := m.req.Experiment
	if e == nil {
		return nil
	}
	out := map[string]float64{}
	for _, sc := range e.StopConditions {
		var s *SLI
		for i := range m.slis {
			if m.slis[i].Name == sc.SLI {
				s = &m.slis[i]
			}
		}
		if s == nil || !s.fromView() || !s.Type.IsRatio() {
			continue
		}
		from := until.Add(-max(sc.For, minStopWindow))
		var n, bad int64
		for _, r := range during {
			if r.Cohort != telemetry.CohortExperiment || r.Bucket.Before(from) || !filterMatches(&s.Filter, r.Service, r.Operation) {
				continue
			}
			n += r.Events
			bad += r.Errors
		}
		if n == 0 {
			continue
		}
		x := bad
		if s.Type == experiment.SLIGoodEvents {
			x = n - bad
		}
		out[sc.SLI] = float64(x) / float64(n)
	}
	return out
}
