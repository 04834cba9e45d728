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

// SimConfig describes a Monte Carlo study of the live monitoring loop: two
// cohorts receive events every Tick for Duration, errors are binomial
// draws, and after every tick the error rate is judged with AlwaysValidP
// and DecideMetric while the traffic split is checked with SequentialSRM
// and with a repeated chi-square test.
type SimConfig struct {
	// Runs is the number of independent runs (required, > 0).
	Runs int
	// Seed seeds the PCG generator; run i uses rand.NewPCG(Seed, i), so
	// results do not depend on Workers.
	Seed uint64
	// Duration is the monitoring length (default 10 min).
	Duration time.Duration
	// Tick is the refresh interval (default 5 s).
	Tick time.Duration
	// ControlEventsPerMin is the control cohort's event rate (required).
	ControlEventsPerMin float64
	// ExperimentEventsPerMin is the experiment cohort's event rate
	// (required).
	ExperimentEventsPerMin float64
	// ControlErrorRate is the control cohort's true error rate.
	ControlErrorRate float64
	// ExperimentErrorRate is the experiment cohort's true error rate.
	ExperimentErrorRate float64
	// ActualExperimentShare, when positive, assigns each tick's total
	// events (both rates together) to the experiment with this
	// probability (binomial), to simulate a sample-ratio mismatch. When
	// zero the cohorts get their configured rates deterministically.
	ActualExperimentShare float64
	// ExpectedExperimentShare is the planned experiment share checked by
	// the SRM tests (default: experiment rate / total rate).
	ExpectedExperimentShare float64
	// Monitor configures the anytime-valid error-rate monitor.
	Monitor MonitorConfig
	// Tolerance is the error-rate tolerance (default: lower is better,
	// zero allowance, i.e. any significant increase fails).
	Tolerance Tolerance
	// SRMAlpha is the level of both SRM tests (default
	// DefaultSRMThreshold).
	SRMAlpha float64
	// Workers is the number of goroutines (default GOMAXPROCS).
	Workers int
}

// SimResult summarises a simulation.
type SimResult struct {
	// Runs is the number of runs.
	Runs int
	// Ticks is the number of looks per run.
	Ticks int
	// FailTimes holds, sorted ascending, the first time each failing run
	// was declared fail; runs that never failed are not listed.
	FailTimes []time.Duration
	// SRMTimes holds, sorted ascending, the first time the sequential SRM
	// test flagged each run.
	SRMTimes []time.Duration
	// RepeatedChiSquareSRM counts runs where the chi-square SRM test at
	// SRMAlpha fired at any tick (the naive repeated fixed-horizon check).
	RepeatedChiSquareSRM int
	// FinalChiSquareSRM counts runs where the chi-square SRM test at
	// SRMAlpha fired on the final counts only (one look).
	FinalChiSquareSRM int
	// Config is the effective configuration.
	Config SimConfig
}

// FailShare is the share of runs ever declared fail.
func (r SimResult) FailShare() float64 { return share(len(r.FailTimes), r.Runs) }

// FailedWithin is the share of runs declared fail at or before d.
func (r SimResult) FailedWithin(d time.Duration) float64 {
	return share(countWithin(r.FailTimes, d), r.Runs)
}

// MedianTimeToFail is the median over all runs of the time to the first
// fail (runs that never failed count as infinitely late); ok is false
// when fewer than half of the runs failed.
func (r SimResult) MedianTimeToFail() (time.Duration, bool) {
	return medianTime(r.FailTimes, r.Runs)
}

// SRMShare is the share of runs flagged by the sequential SRM test.
func (r SimResult) SRMShare() float64 { return share(len(r.SRMTimes), r.Runs) }

// MedianTimeToSRM is the median time to the sequential SRM flag (ok false
// when fewer than half of the runs were flagged).
func (r SimResult) MedianTimeToSRM() (time.Duration, bool) {
	return medianTime(r.SRMTimes, r.Runs)
}

func share(k, n int) float64 {
	if n <= 0 {
		return 0
	}
	return float64(k) / float64(n)
}

func countWithin(sorted []time.Duration, d time.Duration) int {
	n, _ := slices.BinarySearch(sorted, d+1)
	return n
}

func medianTime(sorted []time.Duration, runs int) (time.Duration, bool) {
	// The median of runs values where the missing ones are +∞: the
	// ceil(runs/2)-th smallest.
	k := (runs + 1) / 2
	if runs == 0 || len(sorted) < k {
		return 0, false
	}
	return sorted[k-1], true
}

type simRun struct {
	failAt, srmAt       time.Duration // -1 when never
	repeatedSRM, finSRM bool
}

// Simulate runs the Monte Carlo study described by cfg.
func Simulate(cfg SimConfig) (SimResult, error) {
	if cfg.Runs <= 0 {
		return SimResult{}, fmt.Errorf("simulate: runs %d must be positive", cfg.Runs)
	}
	if cfg.Duration == 0 {
		cfg.Duration = 10 * time.Minute
	}
	if cfg.Tick == 0 {
		cfg.Tick = 5 * time.Second
	}
	if cfg.Tick < 0 || cfg.Duration < cfg.Tick {
		return SimResult{}, fmt.Errorf("simulate: tick %v and duration %v invalid", cfg.Tick, cfg.Duration)
	}
	if !(cfg.ControlEventsPerMin > 0) || !(cfg.ExperimentEventsPerMin > 0) ||
		math.IsInf(cfg.ControlEventsPerMin, 0) || math.IsInf(cfg.ExperimentEventsPerMin, 0) {
		return SimResult{}, fmt.Errorf("simulate: event rates %v and %v must be positive and finite",
			cfg.ControlEventsPerMin, cfg.ExperimentEventsPerMin)
	}
	for _, p := range []float64{cfg.ControlErrorRate, cfg.ExperimentErrorRate} {
		if !(p >= 0 && p <= 1) {
			return SimResult{}, fmt.Errorf("simulate: error rate %v outside [0, 1]", p)
		}
	}
	if !(cfg.ActualExperimentShare >= 0 && cfg.ActualExperimentShare < 1) {
		return SimResult{}, fmt.Errorf("simulate: actual experiment share %v outside [0, 1)", cfg.ActualExperimentShare)
	}
	if cfg.ExpectedExperimentShare == 0 {
		cfg.ExpectedExperimentShare = cfg.ExperimentEventsPerMin / (cfg.ExperimentEventsPerMin + cfg.ControlEventsPerMin)
	}
	if !(cfg.ExpectedExperimentShare > 0 && cfg.ExpectedExperimentShare < 1) {
		return SimResult{}, fmt.Errorf("simulate: expected experiment share %v outside (0, 1)", cfg.ExpectedExperimentShare)
	}
	if cfg.Tolerance.Direction == "" {
		cfg.Tolerance.Direction = LowerIsBetter
	}
	if cfg.SRMAlpha == 0 {
		cfg.SRMAlpha = DefaultSRMThreshold
	}
	mc, err := cfg.Monitor.withDefaults()
	if err != nil {
		return SimResult{}, fmt.Errorf("simulate: %w", err)
	}
	cfg.Monitor = mc
	if _, err := DecideMetric(Evidence{}, cfg.Tolerance, mc.Alpha); err != nil {
		return SimResult{}, fmt.Errorf("simulate: %w", err)
	}
	if _, err := NewSequentialSRM([]float64{1 - cfg.ExpectedExperimentShare, cfg.ExpectedExperimentShare}, cfg.SRMAlpha, 0); err != nil {
		return SimResult{}, fmt.Errorf("simulate: %w", err)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}

	runs := make([]simRun, cfg.Runs)
	errs := make([]error, cfg.Workers)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if errs[w] != nil {
					continue
				}
				runs[i], errs[w] = simulateRun(cfg, i)
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
			return SimResult{}, fmt.Errorf("simulate: %w", err)
		}
	}

	res := SimResult{Runs: cfg.Runs, Ticks: int(cfg.Duration / cfg.Tick), Config: cfg}
	for _, r := range runs {
		if r.failAt >= 0 {
			res.FailTimes = append(res.FailTimes, r.failAt)
		}
		if r.srmAt >= 0 {
			res.SRMTimes = append(res.SRMTimes, r.srmAt)
		}
		if r.repeatedSRM {
			res.RepeatedChiSquareSRM++
		}
		if r.finSRM {
			res.FinalChiSquareSRM++
		}
	}
	slices.Sort(res.FailTimes)
	slices.Sort(res.SRMTimes)
	return res, nil
}

// simulateRun runs one seeded monitoring loop.
func simulateRun(cfg SimConfig, run int) (simRun, error) {
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(run))) //nolint:gosec // G404: a seeded simulation must be reproducible, not unpredictable
	mon, err := NewAlwaysValidP(cfg.Monitor)
	if err != nil {
		return simRun{}, err
	}
	shares := []float64{1 - cfg.ExpectedExperimentShare, cfg.ExpectedExperimentShare}
	srm, err := NewSequentialSRM(shares, cfg.SRMAlpha, 0)
	if err != nil {
		return simRun{}, err
	}
	out := simRun{failAt: -1, srmAt: -1}
	ticks := int(cfg.Duration / cfg.Tick)
	perTickMin := cfg.Tick.Minutes()
	var x1, n1, x2, n2 int64
	counts := make([]int64, 2)
	for t := 1; t <= ticks; t++ {
		var c, e int64
		if cfg.ActualExperimentShare > 0 {
			total := cumulativeEvents(cfg.ControlEventsPerMin+cfg.ExperimentEventsPerMin, perTickMin, t)
			e = binomial(rng, total, cfg.ActualExperimentShare)
			c = total - e
		} else {
			c = cumulativeEvents(cfg.ControlEventsPerMin, perTickMin, t)
			e = cumulativeEvents(cfg.ExperimentEventsPerMin, perTickMin, t)
		}
		n1 += c
		n2 += e
		x1 += binomial(rng, c, cfg.ControlErrorRate)
		x2 += binomial(rng, e, cfg.ExperimentErrorRate)
		now := time.Duration(t) * cfg.Tick

		r, err := mon.Update(x1, n1, x2, n2)
		if err != nil {
			return simRun{}, err
		}
		v, err := DecideMetric(r.Evidence(), cfg.Tolerance, cfg.Monitor.Alpha)
		if err != nil {
			return simRun{}, err
		}
		if v == VerdictFail && out.failAt < 0 {
			out.failAt = now
		}

		counts[0], counts[1] = n1, n2
		sr, err := srm.Update(counts)
		if err != nil {
			return simRun{}, err
		}
		if sr.Mismatch && out.srmAt < 0 {
			out.srmAt = now
		}
		chi, err := SRMCheck(counts, shares, cfg.SRMAlpha)
		if err != nil {
			return simRun{}, err
		}
		if chi.Mismatch {
			out.repeatedSRM = true
		}
		if t == ticks {
			out.finSRM = chi.Mismatch
		}
	}
	return out, nil
}

// cumulativeEvents returns the events arriving in tick t (1-based) for a
// rate per minute, spreading fractional events so that the total after t
// ticks is floor(rate * t * tickMinutes).
func cumulativeEvents(ratePerMin, tickMin float64, t int) int64 {
	prev := math.Floor(ratePerMin * tickMin * float64(t-1))
	cur := math.Floor(ratePerMin * tickMin * float64(t))
	return int64(cur - prev)
}

// binomial draws from Binomial(n, p) by inversion, in chunks small enough
// that (1-p)^chunk does not underflow.
func binomial(r *rand.Rand, n int64, p float64) int64 {
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	case p > 0.5:
		return n - binomial(r, n, 1-p)
	}
	chunk := max(int64(-500/math.Log1p(-p)), 1)
	var total int64
	for n > 0 {
		m := min(n, chunk)
		total += binomialInversion(r, m, p)
		n -= m
	}
	return total
}

func binomialInversion(r *rand.Rand, n int64, p float64) int64 {
	q := 1 - p
	s := p / q
	a := float64(n+1) * s
	f := math.Pow(q, float64(n))
	u := r.Float64()
	var k int64
	for u > f && k < n {
		u -= f
		k++
		f *= a/float64(k) - s
		if f <= 0 {
			break
		}
	}
	return k
}
