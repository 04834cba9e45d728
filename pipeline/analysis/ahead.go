package analysis

import (
	"context"
	"sync"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// UnitGroupAheadSource is a UnitGroupSource that can read the unit-group
// tallies of an SLI before the window's bucket rows are known
// (query.Reader.SLIUnitGroupsAhead): compare reads them beside the bucket
// read instead of after it.
type UnitGroupAheadSource interface {
	SLIUnitGroupsAhead(ctx context.Context, experimentID string, w Window, sli *SLI) (map[telemetry.Cohort]query.UnitTally, uint, error)
}

// SLIUnitGroupsAhead implements UnitGroupAheadSource with
// query.Reader.SLIUnitGroupsAhead and UnitSampleShift.
func (s *Store) SLIUnitGroupsAhead(ctx context.Context, experimentID string, w Window, sli *SLI) (map[telemetry.Cohort]query.UnitTally, uint, error) {
	return s.reader().SLIUnitGroupsAhead(ctx, experimentID, w, sli.rawFilter(), UnitSampleShift)
}

var _ UnitGroupAheadSource = (*Store)(nil)

// unitsAhead are the unit-group tallies of the ratio SLIs the views serve,
// read while compare reads the bucket rows (all at once, not one SLI after
// another), on two guesses the bucket rows settle: no bucket holds a
// duplicate, and the hash slice of the distinct-unit count is the one the
// window's distinct events call for (UnitSampleShift). observeUnits takes
// a tally only when both hold, and reads it again otherwise, so what
// compare computes never depends on the guesses; they only decide whether
// the read after the bucket rows is needed.
type unitsAhead struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	reads  map[int]*aheadRead // by SLI index
}

type aheadRead struct {
	t     map[telemetry.Cohort]query.UnitTally
	shift uint
	err   error
}

// startUnitsAhead starts the reads where observeUnits would read unit
// groups if the window turned out large (above groupUnitsAbove events;
// for a smaller window the reads are wasted, and cheap): a source that can
// read ahead, an experiment analysed per unit with the subject as the
// unit, ratio SLIs the views serve. SLIs that read the same tallies share
// one read. Nil when there is nothing to read.
func startUnitsAhead(ctx context.Context, src Source, id string, w Window, slis []SLI, e *experiment.Experiment) *unitsAhead {
	as, ok := src.(UnitGroupAheadSource)
	if _, units := src.(UnitSource); !ok || !units {
		return nil
	}
	if _, groups := src.(UnitGroupSource); !groups {
		return nil
	}
	var cohorts experiment.Cohorts
	if e != nil {
		cohorts = e.Cohorts
	}
	if attr, perUnit := cohorts.UnitAttribute(); !perUnit || attr != "" {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &unitsAhead{cancel: cancel, reads: map[int]*aheadRead{}}
	byKey := map[string]*aheadRead{}
	for i := range slis {
		s := &slis[i]
		if !s.Type.IsRatio() || !s.fromView() {
			continue
		}
		// The group read depends on the filter and on whether log
		// records count (good-event SLIs leave them out).
		k := s.Filter.Service + "\x00" + s.Filter.Operation
		if s.Good != nil {
			k += "\x00good"
		}
		if r, ok := byKey[k]; ok {
			a.reads[i] = r
			continue
		}
		r := &aheadRead{}
		byKey[k], a.reads[i] = r, r
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			r.t, r.shift, r.err = as.SLIUnitGroupsAhead(ctx, id, w, s)
		}()
	}
	if len(a.reads) == 0 {
		cancel()
		return nil
	}
	return a
}

// take waits for the reads and returns SLI i's tallies when they were
// read with no dirty bucket and the slice shift.
func (a *unitsAhead) take(i int, dirty []uint32, shift uint) (map[telemetry.Cohort]query.UnitTally, bool) {
	if a == nil {
		return nil, false
	}
	a.wg.Wait()
	r, ok := a.reads[i]
	if !ok || r.err != nil || len(dirty) > 0 || r.shift != shift {
		return nil, false
	}
	return r.t, true
}

// stop cancels the reads not needed any more and waits for them.
func (a *unitsAhead) stop() {
	if a == nil {
		return
	}
	a.cancel()
	a.wg.Wait()
}

// ViewNumbers reads what Compare reads from the views before its
// statistics, the same way: the bucket rows of the request's window and of
// the baseline before it, and the unit tallies of the ratio SLIs (read
// beside the bucket rows). It returns the unit the analysis would use.
// `make bench-compare` times it.
func ViewNumbers(ctx context.Context, src Source, req Request) (string, error) {
	ctx = query.WithTraceMemo(ctx)
	w := req.Window
	slis := SLIsOf(req.Experiment)
	ahead := startUnitsAhead(ctx, src, req.ExperimentID, w, slis, req.Experiment)
	defer ahead.stop()
	rows, err := src.Buckets(ctx, req.ExperimentID, w.Since.Add(-w.Duration()), w.Until, true)
	if err != nil {
		return "", err
	}
	_, during := splitRows(rows, w.Since)
	info, err := observeUnits(ctx, src, req.ExperimentID, w, slis, make([]observation, len(slis)), during, req.Experiment, ahead)
	if err != nil {
		return "", err
	}
	return info.name, nil
}
