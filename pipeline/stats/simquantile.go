package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// QuantileSimConfig is a Monte Carlo study of a fixed-horizon quantile SLI
// decided by QuantileEvidence: both cohorts draw N latencies from a
// log-normal (median Median seconds, log-sd Sigma); in the experiment a
// share TailShare of the requests is slowed by TailShift seconds (a
// tail-only regression: the median and most of the distribution stay).
type QuantileSimConfig struct {
	Runs      int
	Seed      uint64
	N         int
	Quantile  float64
	Median    float64
	Sigma     float64
	TailShare float64
	TailShift float64
	Tolerance Tolerance
	Alpha     float64
	Workers   int
}

// QuantileSimResult counts verdicts over the runs.
type QuantileSimResult struct {
	Runs, Fails, Passes int
	// MeanDifference is the mean estimated quantile difference.
	MeanDifference float64
}

// SimulateQuantile runs the study.
func SimulateQuantile(cfg QuantileSimConfig) (QuantileSimResult, error) {
	if cfg.Runs <= 0 || cfg.N <= 0 {
		return QuantileSimResult{}, fmt.Errorf("simulate quantile: runs %d and n %d must be positive", cfg.Runs, cfg.N)
	}
	if cfg.Alpha == 0 {
		cfg.Alpha = DefaultMonitorAlpha
	}
	if cfg.Tolerance.Direction == "" {
		cfg.Tolerance.Direction = LowerIsBetter
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	type one struct {
		fail, pass bool
		diff       float64
		err        error
	}
	res := make([]one, cfg.Runs)
	var wg sync.WaitGroup
	next := make(chan int, cfg.Workers)
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := make([]float64, cfg.N)
			e := make([]float64, cfg.N)
			for i := range next {
				rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i))) //nolint:gosec // G404: reproducible simulation
				for j := range c {
					c[j] = cfg.Median * math.Exp(cfg.Sigma*rng.NormFloat64())
					e[j] = cfg.Median * math.Exp(cfg.Sigma*rng.NormFloat64())
					if rng.Float64() < cfg.TailShare {
						e[j] += cfg.TailShift
					}
				}
				ev, qd, err := QuantileEvidence(c, e, cfg.Quantile, cfg.Alpha)
				if err != nil {
					res[i].err = err
					continue
				}
				d, err := Decide([]MetricInput{{Name: "latency", Evidence: ev, Tolerance: cfg.Tolerance}}, cfg.Alpha, AdjustHolm, false)
				if err != nil {
					res[i].err = err
					continue
				}
				res[i] = one{fail: d.Overall == VerdictFail, pass: d.Overall == VerdictPass, diff: qd.Difference}
			}
		}()
	}
	for i := range cfg.Runs {
		next <- i
	}
	close(next)
	wg.Wait()
	out := QuantileSimResult{Runs: cfg.Runs}
	for _, r := range res {
		if r.err != nil {
			return QuantileSimResult{}, fmt.Errorf("simulate quantile: %w", r.err)
		}
		out.Fails += b2i(r.fail)
		out.Passes += b2i(r.pass)
		out.MeanDifference += r.diff / float64(cfg.Runs)
	}
	return out, nil
}
