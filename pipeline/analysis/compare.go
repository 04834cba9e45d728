package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/stats"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Defaults for Settings.
const (
	DefaultAlpha            = 0.05
	DefaultSamplePerCohort  = 10000
	DefaultMinLatencySample = 50
)

// Settings tune the analysis; zero fields take the defaults.
type Settings struct {
	// Alpha is the significance level (default 0.05). Intervals are
	// two-sided at 1-2*alpha.
	Alpha float64
	// Adjustment across metrics (default Holm).
	Adjustment stats.Adjustment
	// SamplePerCohort is the target latency sample per cohort (default
	// 10,000).
	SamplePerCohort int
	// Monitor configures the live error-rate monitor (compare defaults).
	Monitor stats.MonitorConfig
	// MinLatencySample is the sample per cohort below which live latency
	// results are provisional (default 50).
	MinLatencySample int
}

func (s Settings) withDefaults() Settings {
	if s.Alpha == 0 {
		s.Alpha = DefaultAlpha
	}
	if s.Adjustment == "" {
		s.Adjustment = stats.AdjustHolm
	}
	if s.SamplePerCohort <= 0 {
		s.SamplePerCohort = DefaultSamplePerCohort
	}
	if s.MinLatencySample <= 0 {
		s.MinLatencySample = DefaultMinLatencySample
	}
	if s.Monitor.Alpha == 0 {
		s.Monitor.Alpha = s.Alpha
	}
	return s
}

func (s Settings) validate() error { return CheckAlpha(s.Alpha) }

// CheckAlpha is the rule for a significance level: 0 < alpha < 0.5, as
// intervals are two-sided at 1-2*alpha.
func CheckAlpha(alpha float64) error {
	if !(alpha > 0 && alpha < 0.5) {
		return fmt.Errorf("alpha %v: want a value in (0, 0.5)", alpha)
	}
	return nil
}

// Request says what to compare.
type Request struct {
	// ExperimentID is the experiment as tagged in telemetry (required).
	ExperimentID string
	// Experiment is its definition; nil compares the default SLIs and
	// skips the sample-ratio check (no expected split is known).
	Experiment *experiment.Experiment
	// Window is the interval to compare.
	Window Window
	// Run is the run the window comes from, if any (reported as is).
	Run *Run
}

func (r Request) validate() error {
	var errs []error
	if err := telemetry.ValidateID(r.ExperimentID); err != nil {
		errs = append(errs, fmt.Errorf("experiment id: %w", err))
	}
	if !r.Window.Until.After(r.Window.Since) {
		errs = append(errs, fmt.Errorf("window %s .. %s: until must be after since",
			r.Window.Since.Format(time.RFC3339), r.Window.Until.Format(time.RFC3339)))
	}
	return errors.Join(errs...)
}

// Compare runs a fixed-horizon (one-look) comparison of the experiment's
// cohorts over the request's window: counts from the cohort_stats view
// (raw events for SLIs the view cannot serve), the latency sample from the
// raw table, the sample-ratio check, the blast radius against the same
// length of time before the window, and the stop conditions.
func Compare(ctx context.Context, src Source, req Request, set Settings, now time.Time) (*Result, error) {
	set = set.withDefaults()
	if err := set.validate(); err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	if err := req.validate(); err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	ctx = query.WithTraceMemo(ctx)
	w := req.Window
	dur := w.Duration()
	slis := SLIsOf(req.Experiment)
	// The unit tallies of the ratio SLIs are read beside the bucket rows
	// (see unitsAhead).
	ahead := startUnitsAhead(ctx, src, req.ExperimentID, w, slis, req.Experiment)
	defer ahead.stop()
	rows, err := src.Buckets(ctx, req.ExperimentID, w.Since.Add(-dur), w.Until, true)
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", req.ExperimentID, err)
	}
	before, during := splitRows(rows, w.Since)
	obs, units, err := observe(ctx, src, req.ExperimentID, w, slis, during, set, req.Experiment, ahead)
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", req.ExperimentID, err)
	}
	res := newResult(req, now, set, ModeFixedHorizon)
	res.Cohorts = cohortSizes(during)
	res.Unit = units.name
	basis, exposures := srmSizes(slis, during)
	if units.known() {
		basis, exposures = units.srmBasis()
	}
	res.SRM, err = srmFixed(req.Experiment, exposures)
	res.SRM.Basis, res.SRM.Control, res.SRM.Experiment = basis, exposures.Control, exposures.Experiment
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", req.ExperimentID, err)
	}
	if err := decide(res, slis, obs, nil, nil, judgeSettings{alpha: set.Alpha, share: expectedShare(req.Experiment), dur: dur}, set); err != nil {
		return nil, fmt.Errorf("compare %s: %w", req.ExperimentID, err)
	}
	res.BlastRadius, err = blastRadius(before, during, blastTolerance(slis), set.Alpha)
	if err != nil {
		return nil, fmt.Errorf("compare %s: blast radius: %w", req.ExperimentID, err)
	}
	res.StopConditions = stopStatuses(req.Experiment, res.Metrics, nil, nil, now)
	for _, s := range res.StopConditions {
		res.Stop = res.Stop || s.Holds
	}
	if tr, ok := src.(TaggingRowsSource); ok {
		if res.Tagging, err = tr.TaggingOf(ctx, req.ExperimentID, w, during); err != nil {
			return nil, fmt.Errorf("compare %s: tagging: %w", req.ExperimentID, err)
		}
	} else if ts, ok := src.(TaggingSource); ok {
		if res.Tagging, err = ts.Tagging(ctx, req.ExperimentID, w); err != nil {
			return nil, fmt.Errorf("compare %s: tagging: %w", req.ExperimentID, err)
		}
	}
	res.Sanitize()
	return res, nil
}

func newResult(req Request, now time.Time, set Settings, mode string) *Result {
	res := &Result{
		ExperimentID: req.ExperimentID, FromSpec: req.Experiment != nil && len(req.Experiment.SLIs) > 0,
		Run: req.Run, Window: Window{Since: req.Window.Since.UTC(), Until: req.Window.Until.UTC()},
		GeneratedAt: now.UTC(), Mode: mode, Alpha: set.Alpha, Adjustment: string(set.Adjustment),
		Metrics: []Metric{},
	}
	if req.Experiment != nil {
		res.Title = req.Experiment.Title
	}
	return res
}

// splitRows splits view rows at t: before t (blast-radius baseline, only
// traffic outside the experiment cohort) and from t on.
func splitRows(rows []BucketRow, t time.Time) (before, during []BucketRow) {
	for _, r := range rows {
		if r.Bucket.Before(t) {
			if r.Cohort != telemetry.CohortExperiment {
				before = append(before, r)
			}
			continue
		}
		during = append(during, r)
	}
	return before, during
}

func cohortSizes(rows []BucketRow) CohortSizes {
	var c CohortSizes
	for _, r := range rows {
		switch r.Cohort {
		case telemetry.CohortControl:
			c.Control += r.Events
		case telemetry.CohortExperiment:
			c.Experiment += r.Events
		}
	}
	return c
}

// srmSizes picks what the sample-ratio check counts: the events of the
// first SLI whose filter the view can serve (service and operation, the
// entry point users hit once per exposure), else every event. Counting
// every event would mistake the fault for a broken split: a failing page
// calls fewer downstream services, so the experiment cohort emits fewer
// events per user than control.
func srmSizes(slis []SLI, during []BucketRow) (basis string, sizes CohortSizes) {
	for i := range slis {
		f := &slis[i].Filter
		if len(f.Attributes) > 0 || (f.Service == "" && f.Operation == "") {
			continue
		}
		c, e := viewCounts(during, f)
		basis = "events of"
		if f.Service != "" {
			basis += " service " + f.Service
		}
		if f.Operation != "" {
			basis += " operation " + f.Operation
		}
		return basis + " (SLI " + slis[i].Name + ")", CohortSizes{Control: c.Events, Experiment: e.Events}
	}
	return "all events", cohortSizes(during)
}

func expectedShare(e *experiment.Experiment) float64 {
	if e == nil || !(e.Cohorts.ExpectedSplit.Experiment > 0) {
		return 0.5
	}
	return e.Cohorts.ExpectedSplit.Experiment
}

// srmFixed runs the chi-square check against the definition's split; with
// no definition there is no expected split and the check is skipped.
func srmFixed(e *experiment.Experiment, sizes CohortSizes) (SRM, error) {
	out := SRM{Test: "none", PValue: 1, Threshold: stats.DefaultSRMThreshold}
	out.ObservedExperimentShare = share(sizes)
	if e == nil || !(e.Cohorts.ExpectedSplit.Experiment > 0) || !(e.Cohorts.ExpectedSplit.Control > 0) {
		return out, nil
	}
	out.ExpectedExperimentShare = e.Cohorts.ExpectedSplit.Experiment
	r, err := stats.SRMCheck([]int64{sizes.Control, sizes.Experiment},
		[]float64{e.Cohorts.ExpectedSplit.Control, e.Cohorts.ExpectedSplit.Experiment}, 0)
	if err != nil {
		return out, fmt.Errorf("srm: %w", err)
	}
	out.Test, out.PValue, out.Mismatch = "chi_square", r.PValue, r.Mismatch
	return out, nil
}

func share(s CohortSizes) float64 {
	if t := s.Control + s.Experiment; t > 0 {
		return float64(s.Experiment) / float64(t)
	}
	return 0
}

// observe gathers each SLI's numbers: view rows where the view can serve
// them, raw counts otherwise, and the latency samples.
// UnitSource is a Source that can also tally ratio SLIs per
// randomization unit (the ClickHouse Store can; a Source without it is
// analysed per event).
type UnitSource interface {
	SLIUnitCounts(ctx context.Context, experimentID string, w Window, sli *SLI, unitAttr string) (map[telemetry.Cohort]query.UnitTally, error)
}

// UnitTallySource is a UnitSource that also reads the per-unit tallies of
// the SLIs the views serve from the unit_tally view (the ClickHouse Store);
// dirty are the buckets (unix seconds) that hold duplicates and must be
// counted on the raw table.
type UnitTallySource interface {
	SLIUnitTally(ctx context.Context, experimentID string, w Window, sli *SLI, dirty []uint32) (map[telemetry.Cohort]query.UnitTally, error)
}

// UnitGroupSource is a UnitTallySource that can also tally the SLIs the
// views serve over unit groups (query.Reader.SLIUnitGroups): a read of a
// bounded number of rows per bucket however many units there are, with the
// distinct units counted whole or, with sampleShift > 0, exactly within a
// fixed 2^-sampleShift slice of the unit hash space.
type UnitGroupSource interface {
	SLIUnitGroups(ctx context.Context, experimentID string, w Window, sli *SLI, dirty []uint32, sampleShift uint) (map[telemetry.Cohort]query.UnitTally, error)
}

// SLIUnitGroups implements UnitGroupSource with query.Reader.SLIUnitGroups.
func (s *Store) SLIUnitGroups(ctx context.Context, experimentID string, w Window, sli *SLI, dirty []uint32, sampleShift uint) (map[telemetry.Cohort]query.UnitTally, error) {
	return s.reader().SLIUnitGroups(ctx, experimentID, w, sli.rawFilter(), dirty, sampleShift)
}

var _ UnitGroupSource = (*Store)(nil)

// groupUnitsAbove is the number of events (both cohorts, in the window)
// above which compare tallies the SLIs the views serve over unit groups
// (UnitGroupSource) instead of units: below it the per-unit read of
// unit_tally is quick and its sums are exact per unit; above it that read
// grows with the users (about a row per event when users are sparse in
// time, 60 s for 10M events) while the group read stays at about 1,000
// rows per 10-second bucket. Over groups the cluster-robust variance is
// still valid (every unit lies in one group; see
// queries/schema/0016_unit_groups.up.sql) and differs from the per-unit
// one only by the noise of estimating it from 256 group totals per cohort.
const groupUnitsAbove = 100_000

// unitSampleRows is about how many unit_seen rows the distinct-unit count
// may read (UnitSampleShift).
const unitSampleRows = 1 << 18

// UnitSampleShift is the hash-space slice (2^-shift) of the units whose
// distinct count compare reads for the sample-ratio check and the unit
// counts, given the window's events: 0 (every unit) up to about
// unitSampleRows events, and each doubling beyond halves the slice, so the
// read stays bounded. The slice is fixed by the unit's hash (cityHash64 of
// the subject), not by its cohort, so the units in it are a random subset
// whose cohorts are exactly as likely as all units': the chi-square check
// over the slice's exact counts keeps its false-alarm rate, with the power
// of the smaller count (at 10M events, 1/64: about 28,000 of 1.8M users).
func UnitSampleShift(events int64) uint {
	var shift uint
	for events>>shift > unitSampleRows {
		shift++
	}
	return shift
}

// dirtyBuckets are the buckets of rows whose raw rows exceed their
// distinct events (a duplicate not merged away yet).
func dirtyBuckets(rows []BucketRow) []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	for _, r := range rows {
		if r.Cohort == telemetry.CohortNone || r.Rows <= r.Events {
			continue
		}
		if b := uint32(r.Bucket.Unix()); !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// unitInfo is the randomization unit an evaluation used and the distinct
// units per cohort (of the ratio SLI that sees the most units).
type unitInfo struct {
	name                string
	control, experiment int64
	// sampleShift > 0: control and experiment are estimates, and
	// sampledControl and sampledExperiment the exact counts of the units
	// in a 2^-sampleShift slice of the hash space (UnitSampleShift).
	sampleShift                       uint
	sampledControl, sampledExperiment int64
}

// srmBasis is what the sample-ratio check counts: the distinct units, or
// the exact count of a hash slice of them.
func (u unitInfo) srmBasis() (string, CohortSizes) {
	if u.sampleShift > 0 {
		return fmt.Sprintf("units (%s), exact count of a 1/%d hash slice", u.name, 1<<u.sampleShift),
			CohortSizes{Control: u.sampledControl, Experiment: u.sampledExperiment}
	}
	return "units (" + u.name + ")", CohortSizes{Control: u.control, Experiment: u.experiment}
}

func (u unitInfo) known() bool { return u.name != experiment.UnitEvent && u.name != "" }

// unitCounts converts a tally to the bad-event unit counts of an SLI
// (errors for error_rate, events that are not good for good_events).
func unitCounts(t query.UnitTally, good bool) *stats.UnitCounts {
	if good {
		g := stats.UnitCounts{Units: t.Units, Bad: t.Good, Total: t.Events, SumTotalSq: t.SumN2, SumBadSq: t.SumG2, SumBadTotal: t.SumGN}
		c := g.Complement()
		return &c
	}
	return &stats.UnitCounts{Units: t.Units, Bad: t.Errors, Total: t.Events, SumTotalSq: t.SumN2, SumBadSq: t.SumE2, SumBadTotal: t.SumEN}
}

// observeUnits fills the ratio SLIs' unit tallies when the experiment
// names a unit (default: the subject) and the source can tally them. When
// every event turned out to be its own unit (no event carries the unit)
// the analysis is per event and says so.
//
// ahead (nil: none) holds the tallies read beside the bucket rows; one is
// used only when the bucket rows confirm the guesses it was read on.
func observeUnits(ctx context.Context, src Source, id string, w Window, slis []SLI, obs []observation, during []BucketRow, e *experiment.Experiment, ahead *unitsAhead) (unitInfo, error) {
	us, ok := src.(UnitSource)
	ts, fromTally := src.(UnitTallySource)
	gs, fromGroups := src.(UnitGroupSource)
	var windowEvents int64
	for _, r := range during {
		if r.Cohort != telemetry.CohortNone {
			windowEvents += r.Events
		}
	}
	fromGroups = fromGroups && windowEvents > groupUnitsAbove
	var cohorts experiment.Cohorts
	if e != nil {
		cohorts = e.Cohorts
	}
	attr, perUnit := cohorts.UnitAttribute()
	if !ok || !perUnit {
		return unitInfo{name: experiment.UnitEvent}, nil
	}
	name := experiment.UnitSubject
	if attr != "" {
		name = attr
	}
	info := unitInfo{name: name}
	anyUnit := false
	var dirty []uint32
	for i := range slis {
		s := &slis[i]
		if !s.Type.IsRatio() {
			continue
		}
		var (
			t   map[telemetry.Cohort]query.UnitTally
			err error
		)
		if fromTally && attr == "" && s.fromView() {
			if dirty == nil {
				dirty = dirtyBuckets(during)
			}
			if fromGroups {
				shift := UnitSampleShift(windowEvents)
				var read bool
				if t, read = ahead.take(i, dirty, shift); !read {
					t, err = gs.SLIUnitGroups(ctx, id, w, s, dirty, shift)
				}
			} else {
				t, err = ts.SLIUnitTally(ctx, id, w, s, dirty)
			}
		} else {
			t, err = us.SLIUnitCounts(ctx, id, w, s, attr)
		}
		if err != nil {
			return unitInfo{}, fmt.Errorf("sli %q: unit counts: %w", s.Name, err)
		}
		c, x := t[telemetry.CohortControl], t[telemetry.CohortExperiment]
		good := s.Type == experiment.SLIGoodEvents
		o := &obs[i]
		o.cu, o.eu = unitCounts(c, good), unitCounts(x, good)
		// The counts the unit tallies were computed from.
		o.cn, o.en = c.Events, x.Events
		o.cx, o.ex = c.Errors, x.Errors
		if good {
			o.cx, o.ex = c.Good, x.Good
		}
		if c.Units+x.Units > info.control+info.experiment {
			// Both cohorts from the same SLI: the one that sees most units.
			info.control, info.experiment = c.Units, x.Units
			info.sampleShift, info.sampledControl, info.sampledExperiment = c.SampleShift, c.SampledUnits, x.SampledUnits
			if x.SampleShift > info.sampleShift {
				info.sampleShift = x.SampleShift
			}
		}
		anyUnit = anyUnit || c.Units < c.Events || x.Units < x.Events
	}
	if !anyUnit {
		// No event carried a unit (or each unit sent one event): the
		// analysis is per event.
		for i := range obs {
			obs[i].cu, obs[i].eu = nil, nil
		}
		return unitInfo{name: experiment.UnitEvent}, nil
	}
	return info, nil
}

func observe(ctx context.Context, src Source, id string, w Window, slis []SLI, during []BucketRow, set Settings, e *experiment.Experiment, ahead *unitsAhead) ([]observation, unitInfo, error) {
	obs, err := observeEvents(ctx, src, id, w, slis, during, set)
	if err != nil {
		return nil, unitInfo{}, err
	}
	units, err := observeUnits(ctx, src, id, w, slis, obs, during, e, ahead)
	if err != nil {
		return nil, unitInfo{}, err
	}
	return obs, units, nil
}

func observeEvents(ctx context.Context, src Source, id string, w Window, slis []SLI, during []BucketRow, set Settings) ([]observation, error) {
	raw := map[string]map[telemetry.Cohort]RawCounts{}
	rawCounts := func(s *SLI) (map[telemetry.Cohort]RawCounts, error) {
		k := s.key()
		if r, ok := raw[k]; ok {
			return r, nil
		}
		r, err := src.SLICounts(ctx, id, w, s)
		if err != nil {
			return nil, fmt.Errorf("sli %q: %w", s.Name, err)
		}
		raw[k] = r
		return r, nil
	}
	samples := map[string]*latencySample{}
	obs := make([]observation, len(slis))
	for i := range slis {
		s := &slis[i]
		o := &obs[i]
		var c, e RawCounts
		if s.fromView() {
			c, e = viewCounts(during, &s.Filter)
		} else {
			r, err := rawCounts(s)
			if err != nil {
				return nil, err
			}
			c, e = r[telemetry.CohortControl], r[telemetry.CohortExperiment]
		}
		switch s.Type {
		case experiment.SLIErrorRate:
			o.cx, o.cn, o.ex, o.en = c.Errors, c.Events, e.Errors, e.Events
		case experiment.SLIGoodEvents:
			o.cx, o.cn, o.ex, o.en = c.Good, c.Events, e.Good, e.Events
		case experiment.SLIThroughput:
			o.cn, o.en = c.Events, e.Events
		case experiment.SLILatency:
			o.cEvents, o.eEvents = c.Events, e.Events
			k := s.Filter.Service + "\x00" + s.Filter.Operation + "\x00" + attrPairsKey(s.Filter.Attributes)
			smp, ok := samples[k]
			if !ok {
				got, err := src.LatencySample(ctx, id, w, s, sampleRate(c.Events, e.Events, set.SamplePerCohort))
				if err != nil {
					return nil, fmt.Errorf("sli %q: latency sample: %w", s.Name, err)
				}
				// Sorted once here: the quantiles of this filter (p95 and
				// p99 by default) each sort a copy (stats.QuantileEvidence),
				// which on sorted values is one pass instead of a sort of
				// the whole sample per quantile and look. Only order
				// statistics are taken from it: the same answer.
				slices.Sort(got.Control)
				slices.Sort(got.Experiment)
				smp = &latencySample{Sample: got}
				samples[k] = smp
			}
			o.sample = smp
		}
	}
	return obs, nil
}

// viewCounts sums the view rows that pass a filter, per cohort. Good is
// events minus errors (the only good-event definition the view serves).
func viewCounts(rows []BucketRow, f *experiment.Filter) (c, e RawCounts) {
	for _, r := range rows {
		if !filterMatches(f, r.Service, r.Operation) {
			continue
		}
		switch r.Cohort {
		case telemetry.CohortControl:
			c.Events += r.Events
			c.Errors += r.Errors
		case telemetry.CohortExperiment:
			e.Events += r.Events
			e.Errors += r.Errors
		}
	}
	c.Good, e.Good = c.Events-c.Errors, e.Events-e.Errors
	return c, e
}

// secondsOversample is how many more seconds the latency sample keeps than
// the sampled share needs, so the sample spreads over many seconds.
const secondsOversample = 2

// sampleRate picks the two-stage sample so each cohort's sample is about
// target events (all events when fewer): seconds are kept at
// secondsOversample times the larger cohort share, events within them at
// the rest.
func sampleRate(cEvents, eEvents int64, target int) SampleRate {
	frac := func(n int64) float64 {
		if n <= int64(target) {
			return 1
		}
		return float64(target) / float64(n)
	}
	fc, fe := frac(cEvents), frac(eEvents)
	sec := math.Min(1, secondsOversample*math.Max(fc, fe))
	ppm := func(f float64) int64 { return min(1_000_000, int64(math.Ceil(f*1e6))) }
	return SampleRate{SecondPPM: ppm(sec), ControlPPM: ppm(fc / sec), ExperimentPPM: ppm(fe / sec)}
}

// decide judges every metric, adjusts the p-values across metrics and sets
// the verdicts.
//
// fam (live) decides the family across looks: a fail is final, a pass
// provisional, and each metric's verdict changes are recorded with the
// times in lookTimes (one per look, the current one last).
func decide(res *Result, slis []SLI, obs []observation, seqs []*seqState, fam *liveFamily, js judgeSettings, set Settings) error {
	inputs := make([]stats.MetricInput, len(slis))
	res.Metrics = make([]Metric, len(slis))
	for i := range slis {
		var seq *seqState
		if seqs != nil {
			seq = seqs[i]
		}
		m, ev, err := judge(&slis[i], &obs[i], js, seq)
		if err != nil {
			return err
		}
		res.Metrics[i] = m
		res.Provisional = res.Provisional || m.Provisional
		inputs[i] = stats.MetricInput{Name: slis[i].Name, Evidence: ev, Tolerance: slis[i].Tolerance}
	}
	var d stats.Decision
	var err error
	if fam != nil {
		d, err = fam.look(inputs, res)
	} else {
		d, err = stats.Decide(inputs, set.Alpha, set.Adjustment, res.SRM.Mismatch)
	}
	if err != nil {
		return err
	}
	for i := range res.Metrics {
		m := &res.Metrics[i]
		dm := d.Metrics[i]
		m.Verdict = dm.Verdict
		m.AdjustedPValue = dm.AdjustedP
		if !inputs[i].Evidence.Insufficient && dm.Level < set.Alpha {
			// The interval adjusted with the test: the harm-side bound at
			// the level Holm tests this metric at.
			m.CI.Lower, m.CI.Upper = dm.Lower, dm.Upper
			m.Note = joinNote(m.Note, fmt.Sprintf("harm-side bound at level %.3g (%s)", dm.Level, set.Adjustment))
		}
		if fam != nil {
			m.VerdictChanges = fam.changes(i)
		}
	}
	res.Verdict = d.Overall
	switch {
	case res.SRM.Mismatch:
		res.Reason = fmt.Sprintf("sample-ratio mismatch: the experiment cohort has %.2f%% of the events, %.2f%% were planned (%s p = %.2g < %g); the cohorts are not comparable, so no metric verdict can be trusted",
			100*res.SRM.ObservedExperimentShare, 100*res.SRM.ExpectedExperimentShare, res.SRM.Test, res.SRM.PValue, res.SRM.Threshold)
	case res.Verdict == stats.VerdictInsufficientData:
		res.Reason = "not enough data in at least one metric: see the metrics' notes"
		if res.Cohorts.Control == 0 || res.Cohorts.Experiment == 0 {
			res.Reason = "a cohort has no events in the window: is the experiment tagged, and is the window right?"
		}
	}
	return nil
}

// blastTolerance is the tolerance of the first error-rate SLI, else the
// default.
func blastTolerance(slis []SLI) stats.Tolerance {
	for _, s := range slis {
		if s.Type == experiment.SLIErrorRate && s.Tolerance.Direction == stats.LowerIsBetter {
			return s.Tolerance
		}
	}
	return DefaultErrorRateTolerance
}

// maxBlastServices bounds the services listed in a blast radius.
const maxBlastServices = 10

// blastRadius compares the error rate of everyone outside the experiment
// cohort before and during the window (fixed horizon, exact test).
func blastRadius(before, during []BucketRow, tol stats.Tolerance, alpha float64) (*BlastRadius, error) {
	type pair struct{ b, d Tally }
	per := map[string]*pair{}
	var tb, td Tally
	add := func(rows []BucketRow, isBefore bool) {
		for _, r := range rows {
			if r.Cohort == telemetry.CohortExperiment {
				continue
			}
			p := per[r.Service]
			if p == nil {
				p = &pair{}
				per[r.Service] = p
			}
			t := Tally{Events: r.Events, Errors: r.Errors}
			if isBefore {
				p.b.Events += t.Events
				p.b.Errors += t.Errors
				tb.Events += t.Events
				tb.Errors += t.Errors
			} else {
				p.d.Events += t.Events
				p.d.Errors += t.Errors
				td.Events += t.Events
				td.Errors += t.Errors
			}
		}
	}
	add(before, true)
	add(during, false)
	pc, err := stats.CompareProportions(stats.Counts{Bad: tb.Errors, Total: tb.Events}, stats.Counts{Bad: td.Errors, Total: td.Events}, 1-2*alpha)
	if err != nil {
		return nil, err
	}
	ev := pc.Evidence(stats.LowerIsBetter)
	v, err := stats.DecideMetric(ev, tol, alpha)
	if err != nil {
		return nil, err
	}
	out := &BlastRadius{
		Before: tb, During: td, ErrorRateBefore: pc.ControlRate, ErrorRateDuring: pc.ExperimentRate,
		Effect: Effect{Absolute: pc.Difference, Relative: relative(pc.Difference, pc.ControlRate)},
		CI:     Interval{Lower: ev.Lower, Upper: ev.Upper, Level: 1 - 2*alpha, LowerBounded: !pc.DifferenceInterval.Uninformative, UpperBounded: !pc.DifferenceInterval.Uninformative},
		PValue: ev.PHarm, Verdict: v, Degraded: v == stats.VerdictFail,
	}
	for svc, p := range per {
		br, _ := stats.Counts{Bad: p.b.Errors, Total: p.b.Events}.Rate()
		dr, _ := stats.Counts{Bad: p.d.Errors, Total: p.d.Events}.Rate()
		if p.b.Events == 0 || p.d.Events == 0 || dr <= br {
			continue
		}
		f, err := stats.FisherExact(stats.Counts{Bad: p.b.Errors, Total: p.b.Events}, stats.Counts{Bad: p.d.Errors, Total: p.d.Events})
		if err != nil {
			return nil, err
		}
		out.Services = append(out.Services, ServiceBlast{Service: svc, Before: p.b, During: p.d, ErrorRateBefore: br, ErrorRateDuring: dr, PValue: f.PGreater})
	}
	sort.Slice(out.Services, func(i, j int) bool {
		if out.Services[i].PValue != out.Services[j].PValue {
			return out.Services[i].PValue < out.Services[j].PValue
		}
		return out.Services[i].Service < out.Services[j].Service
	})
	if len(out.Services) > maxBlastServices {
		out.Services = out.Services[:maxBlastServices]
	}
	return out, nil
}

// stopStatuses evaluates the experiment's stop conditions on the
// experiment cohort's value of each SLI: recent[name] when given (live:
// the last max(for, 30s)), else the metric's value over the window.
// crossedSince tracks, across live looks, when each condition first
// crossed; nil in a one-shot comparison, where crossing over the whole
// window counts as holding.
func stopStatuses(e *experiment.Experiment, metrics []Metric, recent map[string]float64, crossedSince map[int]time.Time, now time.Time) []StopStatus {
	if e == nil {
		return nil
	}
	out := make([]StopStatus, 0, len(e.StopConditions))
	for i, sc := range e.StopConditions {
		st := StopStatus{SLI: sc.SLI, Op: string(sc.Op), Threshold: sc.Threshold}
		if sc.For > 0 {
			st.For = sc.For.String()
		}
		val, ok := recent[sc.SLI]
		if !ok {
			for _, m := range metrics {
				if m.Name == sc.SLI {
					val, ok = m.Experiment.Value, m.Experiment.N > 0
				}
			}
		}
		st.Value = val
		st.Crossed = ok && sc.Tripped(val)
		switch {
		case crossedSince == nil:
			st.Holds = st.Crossed
		case st.Crossed:
			since, seen := crossedSince[i]
			if !seen {
				since = now
				crossedSince[i] = now
			}
			s := since.UTC()
			st.Since = &s
			st.Holds = now.Sub(since) >= sc.For
		default:
			delete(crossedSince, i)
		}
		out = append(out, st)
	}
	return out
}

// liveFamily is the live decision across looks (stats.FamilyMonitor) with
// the looks' times, for the verdict changes.
type liveFamily struct {
	fm    *stats.FamilyMonitor
	times []time.Time
}

func newLiveFamily(alpha float64, adj stats.Adjustment) (*liveFamily, error) {
	fm, err := stats.NewFamilyMonitor(alpha, adj)
	if err != nil {
		return nil, err
	}
	return &liveFamily{fm: fm}, nil
}

func (f *liveFamily) look(inputs []stats.MetricInput, res *Result) (stats.Decision, error) {
	f.times = append(f.times, res.GeneratedAt)
	d, _, err := f.fm.Look(inputs, res.SRM.Mismatch)
	return d, err
}

func (f *liveFamily) changes(i int) []VerdictChange {
	var out []VerdictChange
	for _, c := range f.fm.Changes(i) {
		at := time.Time{}
		if c.Look >= 1 && c.Look <= len(f.times) {
			at = f.times[c.Look-1]
		}
		out = append(out, VerdictChange{At: at, From: c.From, To: c.To, Reason: c.Reason})
	}
	return out
}
