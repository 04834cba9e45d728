package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"
)

// SimSLI is one ratio SLI of a UnitSimConfig.
type SimSLI struct {
	// Name labels the SLI.
	Name string
	// ControlRate is the true bad-event rate in the control cohort (and in
	// the experiment before the fault starts).
	ControlRate float64
	// ExperimentRate is the experiment's true bad-event rate once the
	// fault has started.
	ExperimentRate float64
	// Good judges the SLI as a good-event ratio (higher is better), fed
	// the complement of the bad events, like a good_events SLI in live.
	Good bool
	// Tolerance is the allowed harm: an absolute (or relative) increase of
	// the bad rate. For Good SLIs Direction is set to HigherIsBetter.
	Tolerance Tolerance
}

// UnitSimConfig is a Monte Carlo study of live monitoring on traffic with
// randomization units: users arrive at UsersPerMin (Poisson per tick) and
// are assigned to the experiment with probability ExperimentShare; each
// sends a geometric number of events (mean EventsPerUser) in its arrival
// tick, and each SLI's bad events are correlated within a user with
// intra-class correlation ICC (a two-point mixture of per-user rates:
// rate·(1-√ICC) + rate·√ICC·B/p0 with B ~ Bernoulli(p0), which has mean
// rate and ICC ICC). After every tick all SLIs are judged together with
// AlwaysValidP at the unit level and a FamilyMonitor (Holm on the
// tolerance tests), and the user split with SequentialSRM on distinct
// users.
type UnitSimConfig struct {
	// Runs is the number of runs (> 0).
	Runs int
	// Seed seeds run i with rand.NewPCG(Seed, i).
	Seed uint64
	// Duration is the monitoring length (default 10 min).
	Duration time.Duration
	// Tick is the refresh interval (default 5 s).
	Tick time.Duration
	// UsersPerMin is the rate of new users, both cohorts together.
	UsersPerMin float64
	// ExperimentShare is the planned experiment share of users.
	ExperimentShare float64
	// ActualExperimentShare, when positive, is the true assignment
	// probability (a sample-ratio mismatch when it differs).
	ActualExperimentShare float64
	// EventsPerUser is the mean of the geometric number of events per
	// user (>= 1).
	EventsPerUser float64
	// ICC is the intra-user correlation of bad events, in [0, 1).
	ICC float64
	// FaultStart is when the experiment's rates switch from ControlRate
	// to ExperimentRate (0: from the start).
	FaultStart time.Duration
	// SLIs are the ratio SLIs, judged as one family.
	SLIs []SimSLI
	// EventLevel analyzes every event as its own unit and the split by
	// events (what the pipeline did before units), for comparison.
	EventLevel bool
	// Monitor configures AlwaysValidP.
	Monitor MonitorConfig
	// Adjustment is the multiplicity adjustment (default Holm).
	Adjustment Adjustment
	// SRMAlpha is the sequential SRM level (default DefaultSRMThreshold).
	SRMAlpha float64
	// Workers is the number of goroutines (default GOMAXPROCS).
	Workers int
}

// UnitSimResult summarises a UnitSimConfig study.
type UnitSimResult struct {
	// Runs is the number of runs.
	Runs int
	// FailTimes holds, ascending, the first time each run was declared
	// fail overall (any SLI).
	FailTimes []time.Duration
	// SLIFails counts, per SLI, the runs where that SLI ever failed.
	SLIFails []int
	// FinalPass counts runs whose overall verdict was pass at the end.
	FinalPass int
	// SLIFinalPass counts, per SLI, runs where that SLI passed at the end.
	SLIFinalPass []int
	// EverPass counts, per SLI, runs where that SLI passed at some look.
	SLIEverPass []int
	// PassThenFail counts runs where some SLI passed before the fault
	// and failed later (a provisional pass turned into a fail).
	PassThenFail int
	// SRMTimes holds, ascending, the first time the sequential SRM test
	// flagged each run.
	SRMTimes []time.Duration
	// MeanUsers and MeanEvents are per run, both cohorts.
	MeanUsers, MeanEvents float64
	// Config is the effective configuration.
	Config UnitSimConfig
}

// FailShare is the share of runs ever declared fail.
func (r UnitSimResult) FailShare() float64 { return share(len(r.FailTimes), r.Runs) }

// FailedWithin is the share of runs declared fail at or before d.
func (r UnitSimResult) FailedWithin(d time.Duration) float64 {
	return share(countWithin(r.FailTimes, d), r.Runs)
}

// MedianTimeToFail is the median time to the first fail (never-failing
// runs count as infinitely late); ok is false when under half failed.
func (r UnitSimResult) MedianTimeToFail() (time.Duration, bool) {
	return medianTime(r.FailTimes, r.Runs)
}

// SRMShare is the share of runs flagged by the sequential SRM test.
func (r UnitSimResult) SRMShare() float64 { return share(len(r.SRMTimes), r.Runs) }

type unitRun struct {
	failAt, srmAt time.Duration
	sliFail       []bool
	sliPass       []bool
	sliEverPass   []bool
	finalPass     bool
	passThenFail  bool
	users, events int64
}

func (cfg *UnitSimConfig) defaults() error {
	if cfg.Runs <= 0 {
		return fmt.Errorf("runs %d must be positive", cfg.Runs)
	}
	if cfg.Duration == 0 {
		cfg.Duration = 10 * time.Minute
	}
	if cfg.Tick == 0 {
		cfg.Tick = 5 * time.Second
	}
	if cfg.Tick < 0 || cfg.Duration < cfg.Tick {
		return fmt.Errorf("tick %v and duration %v invalid", cfg.Tick, cfg.Duration)
	}
	if !(cfg.UsersPerMin > 0) || math.IsInf(cfg.UsersPerMin, 0) {
		return fmt.Errorf("users per minute %v must be positive and finite", cfg.UsersPerMin)
	}
	if !(cfg.ExperimentShare > 0 && cfg.ExperimentShare < 1) {
		return fmt.Errorf("experiment share %v outside (0, 1)", cfg.ExperimentShare)
	}
	if cfg.ActualExperimentShare == 0 {
		cfg.ActualExperimentShare = cfg.ExperimentShare
	}
	if !(cfg.ActualExperimentShare > 0 && cfg.ActualExperimentShare < 1) {
		return fmt.Errorf("actual experiment share %v outside (0, 1)", cfg.ActualExperimentShare)
	}
	if !(cfg.EventsPerUser >= 1) || math.IsInf(cfg.EventsPerUser, 0) {
		return fmt.Errorf("events per user %v must be >= 1", cfg.EventsPerUser)
	}
	if !(cfg.ICC >= 0 && cfg.ICC < 1) {
		return fmt.Errorf("icc %v outside [0, 1)", cfg.ICC)
	}
	if len(cfg.SLIs) == 0 {
		return fmt.Errorf("no slis")
	}
	for i := range cfg.SLIs {
		s := &cfg.SLIs[i]
		for _, p := range []float64{s.ControlRate, s.ExperimentRate} {
			if !(p >= 0 && p <= 1) {
				return fmt.Errorf("sli %q: rate %v outside [0, 1]", s.Name, p)
			}
		}
		s.Tolerance.Direction = LowerIsBetter
		if s.Good {
			s.Tolerance.Direction = HigherIsBetter
		}
		if err := s.Tolerance.validate(); err != nil {
			return fmt.Errorf("sli %q: %w", s.Name, err)
		}
	}
	if cfg.Adjustment == "" {
		cfg.Adjustment = AdjustHolm
	}
	if cfg.SRMAlpha == 0 {
		cfg.SRMAlpha = DefaultSRMThreshold
	}
	mc, err := cfg.Monitor.withDefaults()
	if err != nil {
		return err
	}
	cfg.Monitor = mc
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// SimulateUnits runs the study described by cfg, in parallel over
// Workers goroutines; results do not depend on Workers.
func SimulateUnits(cfg UnitSimConfig) (UnitSimResult, error) {
	if err := cfg.defaults(); err != nil {
		return UnitSimResult{}, fmt.Errorf("simulate units: %w", err)
	}
	runs := make([]unitRun, cfg.Runs)
	errs := make([]error, cfg.Workers)
	var wg sync.WaitGroup
	next := make(chan int, cfg.Workers)
	for w := range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if errs[w] == nil {
					runs[i], errs[w] = simulateUnitRun(&cfg, i)
				}
			}
		}()
	}
	for i := range cfg.Runs {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return UnitSimResult{}, fmt.Errorf("simulate units: %w", err)
		}
	}
	k := len(cfg.SLIs)
	res := UnitSimResult{Runs: cfg.Runs, SLIFails: make([]int, k), SLIFinalPass: make([]int, k), SLIEverPass: make([]int, k), Config: cfg}
	var users, events int64
	for _, r := range runs {
		if r.failAt >= 0 {
			res.FailTimes = append(res.FailTimes, r.failAt)
		}
		if r.srmAt >= 0 {
			res.SRMTimes = append(res.SRMTimes, r.srmAt)
		}
		for i := range k {
			res.SLIFails[i] += b2i(r.sliFail[i])
			res.SLIFinalPass[i] += b2i(r.sliPass[i])
			res.SLIEverPass[i] += b2i(r.sliEverPass[i])
		}
		res.FinalPass += b2i(r.finalPass)
		res.PassThenFail += b2i(r.passThenFail)
		users += r.users
		events += r.events
	}
	res.MeanUsers = float64(users) / float64(cfg.Runs)
	res.MeanEvents = float64(events) / float64(cfg.Runs)
	slices.Sort(res.FailTimes)
	slices.Sort(res.SRMTimes)
	return res, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// poisson draws from Poisson(lambda) (Knuth for small lambda, normal
// approximation above 50).
func poisson(r *rand.Rand, lambda float64) int64 {
	if lambda <= 0 {
		return 0
	}
	if lambda > 50 {
		return max(int64(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())), 0)
	}
	l := math.Exp(-lambda)
	var k int64
	p := r.Float64()
	for p > l {
		k++
		p *= r.Float64()
	}
	return k
}

// geometric draws the number of trials up to the first success with mean
// mean (>= 1).
func geometric(r *rand.Rand, mean float64) int64 {
	if mean <= 1 {
		return 1
	}
	p := 1 / mean
	u := 1 - r.Float64() // (0, 1]
	return 1 + int64(math.Floor(math.Log(u)/math.Log1p(-p)))
}

func simulateUnitRun(cfg *UnitSimConfig, run int) (unitRun, error) {
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(run))) //nolint:gosec // G404: a seeded simulation must be reproducible
	k := len(cfg.SLIs)
	mons := make([]*AlwaysValidP, k)
	for i := range mons {
		m, err := NewAlwaysValidP(cfg.Monitor)
		if err != nil {
			return unitRun{}, err
		}
		mons[i] = m
	}
	fam, err := NewFamilyMonitor(cfg.Monitor.Alpha, cfg.Adjustment)
	if err != nil {
		return unitRun{}, err
	}
	srm, err := NewSequentialSRM([]float64{1 - cfg.ExperimentShare, cfg.ExperimentShare}, cfg.SRMAlpha, 0)
	if err != nil {
		return unitRun{}, err
	}
	out := unitRun{failAt: -1, srmAt: -1, sliFail: make([]bool, k), sliPass: make([]bool, k), sliEverPass: make([]bool, k)}
	// tallies[cohort][sli]
	tallies := [2][]UnitCounts{make([]UnitCounts, k), make([]UnitCounts, k)}
	var users [2]int64
	rho := math.Sqrt(cfg.ICC)
	bad := make([]int64, k)
	latent := make([]bool, k)
	inputs := make([]MetricInput, k)
	ticks := int(cfg.Duration / cfg.Tick)
	perTick := cfg.UsersPerMin * cfg.Tick.Minutes()
	passedBeforeFault := make([]bool, k)
	for t := 1; t <= ticks; t++ {
		now := time.Duration(t) * cfg.Tick
		faulty := now > cfg.FaultStart
		arrivals := poisson(rng, perTick)
		for range arrivals {
			c := 0
			if rng.Float64() < cfg.ActualExperimentShare {
				c = 1
			}
			n := geometric(rng, cfg.EventsPerUser)
			users[c]++
			out.users++
			out.events += n
			for s := range k {
				sl := &cfg.SLIs[s]
				p0 := sl.ControlRate
				rate := p0
				if c == 1 && faulty {
					rate = sl.ExperimentRate
				}
				pu := rate
				if rho > 0 && p0 > 0 {
					latent[s] = rng.Float64() < p0
					pu = rate * (1 - rho)
					if latent[s] {
						pu += rate * rho / p0
					}
					pu = math.Min(pu, 1)
				}
				var x int64
				for range n {
					if rng.Float64() < pu {
						x++
					}
				}
				bad[s] = x
			}
			for s := range k {
				x, fn := float64(bad[s]), float64(n)
				u := &tallies[c][s]
				if cfg.EventLevel {
					// Every event its own unit.
					u.Units += n
					u.SumTotalSq += fn
					u.SumBadSq += x
					u.SumBadTotal += x
				} else {
					u.Units++
					u.SumTotalSq += fn * fn
					u.SumBadSq += x * x
					u.SumBadTotal += x * fn
				}
				u.Bad += bad[s]
				u.Total += n
			}
		}
		for s := range k {
			r, err := mons[s].UpdateUnits(tallies[0][s], tallies[1][s])
			if err != nil {
				return unitRun{}, err
			}
			ev := r.Evidence()
			if cfg.SLIs[s].Good {
				// The good ratio is the complement: the monitor runs on the
				// bad events (same speed as the error rate), the evidence
				// is negated into good-ratio units.
				ev = ev.Negated()
				ev.Baseline = 1 - r.ControlRate
			}
			inputs[s] = MetricInput{Name: cfg.SLIs[s].Name, Evidence: ev, Tolerance: cfg.SLIs[s].Tolerance}
		}
		d, _, err := fam.Look(inputs, false)
		if err != nil {
			return unitRun{}, err
		}
		for s, m := range d.Metrics {
			switch m.Verdict {
			case VerdictFail:
				if !out.sliFail[s] && passedBeforeFault[s] {
					out.passThenFail = true
				}
				out.sliFail[s] = true
			case VerdictPass:
				out.sliEverPass[s] = true
				if !faulty {
					passedBeforeFault[s] = true
				}
			}
			out.sliPass[s] = m.Verdict == VerdictPass
		}
		if d.Overall == VerdictFail && out.failAt < 0 {
			out.failAt = now
		}
		out.finalPass = d.Overall == VerdictPass
		counts := []int64{users[0], users[1]}
		if cfg.EventLevel {
			counts = []int64{tallies[0][0].Total, tallies[1][0].Total}
		}
		sr, err := srm.Update(counts)
		if err != nil {
			return unitRun{}, err
		}
		if sr.Mismatch && out.srmAt < 0 {
			out.srmAt = now
		}
	}
	return out, nil
}
