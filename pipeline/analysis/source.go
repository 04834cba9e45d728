package analysis

import (
	"context"
	"time"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// The rows the analysis reads are the read side's (pipeline/query).
type (
	// BucketRow is one row of the cohort_stats view.
	BucketRow = query.BucketRow
	// RawCounts are one cohort's distinct events, errors and good events.
	RawCounts = query.RawCounts
	// Sample is a latency sample of both cohorts, in seconds.
	Sample = query.Sample
	// SampleRate is the two-stage latency sample rate.
	SampleRate = query.SampleRate
	// Run is one recorded run of an experiment.
	Run = query.Run
	// Window is the closed-open interval [Since, Until).
	Window = query.Window
	// TaggingCounts say how events got their cohort: directly, by their
	// trace at ingest, or by their trace in ClickHouse.
	TaggingCounts = query.TaggingCounts
)

// TaggingSource is implemented by sources that can tell how events got
// their cohort (*Store); Compare reports it when the source can.
type TaggingSource interface {
	Tagging(ctx context.Context, experimentID string, w Window) (*TaggingCounts, error)
}

// TaggingRowsSource is a TaggingSource that can count from the Buckets
// rows the caller read already (*Store).
type TaggingRowsSource interface {
	TaggingOf(ctx context.Context, experimentID string, w Window, rows []BucketRow) (*TaggingCounts, error)
}

// TaggingOf implements TaggingRowsSource with query.Reader.TaggingOf.
func (s *Store) TaggingOf(ctx context.Context, experimentID string, w Window, rows []BucketRow) (*TaggingCounts, error) {
	return s.reader().TaggingOf(ctx, experimentID, w, rows)
}

// Tagging implements TaggingSource with query.Reader.Tagging.
func (s *Store) Tagging(ctx context.Context, experimentID string, w Window) (*TaggingCounts, error) {
	return s.reader().Tagging(ctx, experimentID, w)
}

// SettledAge is how old a bucket must be before its distinct counts are
// cached in cohort_settled.
const SettledAge = query.SettledAge

// ErrNoRun is returned when an experiment has no recorded run.
var ErrNoRun = query.ErrNoRun

// ErrRunOpen is returned by StartRun while the latest run has not stopped.
var ErrRunOpen = query.ErrRunOpen

// RunWindow is the window of a run: its start until its end, or until now
// while it is going on.
func RunWindow(r *Run, now time.Time) Window { return query.RunWindow(r, now) }

// Source is where the analysis reads its numbers. *Store reads ClickHouse
// (through pipeline/query); tests use fakes.
type Source interface {
	// Buckets returns the view's rows of the experiment in [since, until)
	// (10-second buckets), plus untagged traffic when untagged is true.
	Buckets(ctx context.Context, experimentID string, since, until time.Time, untagged bool) ([]BucketRow, error)
	// SLICounts counts one SLI's events per cohort on the raw table.
	SLICounts(ctx context.Context, experimentID string, w Window, sli *SLI) (map[telemetry.Cohort]RawCounts, error)
	// LatencySample returns durations of one SLI's events on the
	// deterministic slice sample.
	LatencySample(ctx context.Context, experimentID string, w Window, sli *SLI, rate SampleRate) (Sample, error)
}

// Store is the Source over ClickHouse: the read side's queries.
type Store struct {
	C *store.Client
}

var _ Source = (*Store)(nil)

func (s *Store) reader() *query.Reader { return query.New(s.C) }

// Buckets implements Source with query.Reader.Buckets.
func (s *Store) Buckets(ctx context.Context, experimentID string, since, until time.Time, untagged bool) ([]BucketRow, error) {
	return s.reader().Buckets(ctx, experimentID, since, until, untagged)
}

// SLICounts implements Source with query.Reader.SLICounts.
func (s *Store) SLICounts(ctx context.Context, experimentID string, w Window, sli *SLI) (map[telemetry.Cohort]RawCounts, error) {
	return s.reader().SLICounts(ctx, experimentID, w, sli.rawFilter())
}

// SLIUnitCounts implements UnitSource with query.Reader.SLIUnitCounts.
func (s *Store) SLIUnitCounts(ctx context.Context, experimentID string, w Window, sli *SLI, unitAttr string) (map[telemetry.Cohort]query.UnitTally, error) {
	return s.reader().SLIUnitCounts(ctx, experimentID, w, sli.rawFilter(), unitAttr)
}

var _ UnitSource = (*Store)(nil)

// SLIUnitTally implements UnitTallySource with query.Reader.SLIUnitTally.
func (s *Store) SLIUnitTally(ctx context.Context, experimentID string, w Window, sli *SLI, dirty []uint32) (map[telemetry.Cohort]query.UnitTally, error) {
	return s.reader().SLIUnitTally(ctx, experimentID, w, sli.rawFilter(), dirty)
}

var _ UnitTallySource = (*Store)(nil)

// LatencySample implements Source with query.Reader.LatencySample.
func (s *Store) LatencySample(ctx context.Context, experimentID string, w Window, sli *SLI, rate SampleRate) (Sample, error) {
	return s.reader().LatencySample(ctx, experimentID, w, sli.rawFilter(), rate)
}

// Runs returns the experiment's runs, newest first.
func (s *Store) Runs(ctx context.Context, experimentID string, limit int) ([]Run, error) {
	return s.reader().Runs(ctx, experimentID, limit)
}

// LatestRun returns the experiment's newest run, or ErrNoRun.
func (s *Store) LatestRun(ctx context.Context, experimentID string) (*Run, error) {
	return s.reader().LatestRun(ctx, experimentID)
}

// StartRun records a new run starting at now.
func (s *Store) StartRun(ctx context.Context, experimentID, operator, note string, now time.Time) (*Run, error) {
	return s.reader().StartRun(ctx, experimentID, operator, note, now)
}

// StopRun ends the experiment's open run at now.
func (s *Store) StopRun(ctx context.Context, experimentID string, now time.Time) (*Run, error) {
	return s.reader().StopRun(ctx, experimentID, now)
}

// rawFilter is what the raw-table queries need of an SLI.
func (s *SLI) rawFilter() query.SLIFilter { return query.SLIFilter{Filter: s.Filter, Good: s.Good} }

// filterMatches reports whether a view row passes an SLI's service and
// operation filter (attributes are never served from the view).
func filterMatches(f *experiment.Filter, service, operation string) bool {
	return (f.Service == "" || f.Service == service) && (f.Operation == "" || f.Operation == operation)
}
