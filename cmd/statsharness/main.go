// Command statsharness runs the Monte Carlo acceptance study of the live
// verdict loop (pipeline/stats) on simulated game-day traffic: users
// with a geometric number of requests each and correlated errors within a
// user, unequal splits (50/50, 5/95, 1/99), faults that start 0, 3 and 8
// minutes in, four SLIs judged as one family (Holm on the tolerance
// tests) at and beyond their tolerances, and a tail-only p99 regression.
// It prints one row per scenario with its target and whether the target
// holds, and exits with status 1 when one does not.
//
// With -bound (the default, used by `make stats-harness` at 10,000 runs) a
// target "rate <= t" is met when the one-sided 95% Clopper-Pearson upper
// bound of the observed rate is <= t, and "rate >= t" when the lower bound
// is >= t: the target is shown to hold, not just observed. The in-package
// test runs few runs (it must stay short under -race) and uses -bound=false:
// the observed rate must meet the same target; the bound is still printed.
//
// Seeds: the monitor's defaults (DefaultTauRelative and the minimum
// sample) were chosen with -seed 1 (the tuning seed); the reporting seed
// (default 20261129) is different, and run i of a scenario uses
// rand.NewPCG(seed, i).
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/pprof"
	"text/tabwriter"
	"time"

	"github.com/steadystate/steadystate/pipeline/stats"
)

// ReportingSeed is the default seed of `make stats-harness`; TuningSeed is
// the one the defaults were tuned with (never used for reporting).
const (
	ReportingSeed = 20261129
	TuningSeed    = 1
)

// progress gets one line per finished scenario (stderr from main).
var progress io.Writer = io.Discard

func main() { os.Exit(harness()) }

func harness() int {
	progress = os.Stderr
	runs := flag.Int("runs", 10000, "runs per scenario")
	seed := flag.Uint64("seed", ReportingSeed, "base seed (the tuning seed is 1)")
	bound := flag.Bool("bound", true, "a target is met only when its 95% Clopper-Pearson bound is on the target's side")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "statsharness: error:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "statsharness: error:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if *seed == TuningSeed {
		fmt.Fprintln(os.Stderr, "statsharness: warning: seed 1 is the tuning seed; its figures are not reportable")
	}
	if err := run(os.Stdout, *runs, *seed, *bound); err != nil {
		fmt.Fprintln(os.Stderr, "statsharness: error:", err)
		return 1
	}
	return 0
}

// Traffic shape shared by the scenarios.
const (
	eventsPerUser = 5
	icc           = 0.05
	aaUsersPerMin = 2000 // both cohorts
)

// family returns the four SLIs: errors 1%, timeouts 2%, availability
// (good events, bad 1%), slow requests 5%, with the experiment's bad rate
// at control × (1 + mult[i]) and tolerances of tol × the control rate.
func family(mult [4]float64, tol float64) []stats.SimSLI {
	names := []string{"errors", "timeouts", "availability(good)", "slow"}
	rates := []float64{0.01, 0.02, 0.01, 0.05}
	out := make([]stats.SimSLI, 4)
	for i := range out {
		out[i] = stats.SimSLI{Name: names[i], ControlRate: rates[i], ExperimentRate: rates[i] * (1 + mult[i]),
			Good: i == 2, Tolerance: stats.Tolerance{Absolute: tol * rates[i]}}
	}
	return out
}

type target struct {
	what   string
	rate   func(stats.UnitSimResult) int // count of runs
	limit  float64
	atMost bool
}

type scenario struct {
	name    string
	cfg     stats.UnitSimConfig
	targets []target
	info    bool // informational (no target)
}

func failCount(r stats.UnitSimResult) int { return len(r.FailTimes) }
func srmCount(r stats.UnitSimResult) int  { return len(r.SRMTimes) }
func within(d time.Duration) func(stats.UnitSimResult) int {
	return func(r stats.UnitSimResult) int { return int(math.Round(r.FailedWithin(d) * float64(r.Runs))) }
}
func everPass(i int) func(stats.UnitSimResult) int {
	return func(r stats.UnitSimResult) int { return r.SLIEverPass[i] }
}
func anyEverPass(r stats.UnitSimResult) int {
	m := 0
	for _, v := range r.SLIEverPass {
		m = max(m, v)
	}
	return m
}

func scenarios(runs int, seed uint64) []scenario {
	base := func(share float64, perMin float64, slis []stats.SimSLI) stats.UnitSimConfig {
		return stats.UnitSimConfig{Runs: runs, Seed: seed, UsersPerMin: perMin, ExperimentShare: share,
			EventsPerUser: eventsPerUser, ICC: icc, SLIs: slis}
	}
	aa := family([4]float64{}, 0)
	var out []scenario
	for _, sh := range []float64{0.5, 0.05, 0.01} {
		out = append(out, scenario{
			name: fmt.Sprintf("A/A %s, 4 SLIs tol 0, %d users/min", split(sh), aaUsersPerMin),
			cfg:  base(sh, aaUsersPerMin, aa),
			targets: []target{
				{"fail <= 5%", failCount, 0.05, true},
				{"SRM <= 1%", srmCount, 0.01, true},
			},
		})
	}
	ev := base(0.5, aaUsersPerMin, aa)
	ev.EventLevel = true
	out = append(out, scenario{name: "A/A 50/50 analysed per event (old), for comparison", cfg: ev, info: true})
	for _, sh := range []float64{0.5, 0.05, 0.01} {
		// One SLI (errors) exactly at its tolerance (+50%), others A/A.
		out = append(out, scenario{
			name:    fmt.Sprintf("errors at tolerance (1%%->1.5%%, tol +0.5pp) %s", split(sh)),
			cfg:     base(sh, aaUsersPerMin, family([4]float64{0.5, 0, 0, 0}, 0.5)),
			targets: []target{{"wrong pass (any look) <= 5%", everPass(0), 0.05, true}},
		})
	}
	for _, sh := range []float64{0.5, 0.05} {
		out = append(out, scenario{
			name: fmt.Sprintf("4 SLIs all at tolerance (+50%%) %s", split(sh)),
			cfg:  base(sh, aaUsersPerMin, family([4]float64{0.5, 0.5, 0.5, 0.5}, 0.5)),
			targets: []target{
				{"family false fail <= 5%", failCount, 0.05, true},
				{"wrong pass (any SLI, any look) <= 5%", anyEverPass, 0.05, true},
			},
		})
	}
	out = append(out, scenario{
		name: "4 SLIs beyond tolerance (+150%, tol +50%) 50/50",
		cfg:  base(0.5, aaUsersPerMin, family([4]float64{1.5, 1.5, 1.5, 1.5}, 0.5)),
		targets: []target{
			{"fail >= 90%", failCount, 0.9, false},
			{"false pass (any SLI, any look) <= 5%", anyEverPass, 0.05, true},
		},
	})
	// Detection: 1% -> 2% errors, 1000 users/min per cohort.
	fault := func(start time.Duration, good bool) stats.UnitSimConfig {
		m := [4]float64{1, 0, 0, 0}
		if good {
			m = [4]float64{0, 0, 1, 0}
		}
		c := base(0.5, 2000, family(m, 0))
		c.FaultStart = start
		return c
	}
	out = append(out,
		scenario{name: "errors 1%->2% from 0m, 1000 users/min/cohort", cfg: fault(0, false),
			targets: []target{{">= 90% by 5m", within(5 * time.Minute), 0.9, false}}},
		scenario{name: "good events 99%->98% from 0m (same traffic)", cfg: fault(0, true),
			targets: []target{{">= 90% by 5m", within(5 * time.Minute), 0.9, false}}},
		scenario{name: "errors 1%->2% from 3m", cfg: fault(3*time.Minute, false),
			targets: []target{{">= 90% by 8m", within(8 * time.Minute), 0.9, false}}},
		scenario{name: "errors 1%->2% from 8m", cfg: fault(8*time.Minute, false), info: true},
	)
	srm := base(0.5, aaUsersPerMin, aa)
	srm.ActualExperimentShare = 0.52
	out = append(out, scenario{name: "SRM: 50/50 planned, 52/48 users actual", cfg: srm,
		targets: []target{{"SRM >= 90%", srmCount, 0.9, false}}})
	return out
}

func split(share float64) string {
	return fmt.Sprintf("%g/%g", 100*share, 100*(1-share))
}

func run(w io.Writer, runs int, seed uint64, useBound bool) error {
	start := time.Now()
	fmt.Fprintf(w, "statsharness: %d runs/scenario, reporting seed %d (tuning seed %d), 10 min at one look per 5 s (120 looks)\n", runs, seed, TuningSeed)
	fmt.Fprintf(w, "traffic: users Poisson per tick, geometric requests/user (mean %d), intra-user error correlation ICC %.2g\n", eventsPerUser, icc)
	fmt.Fprintf(w, "monitor: unit-level mSPRT (cluster-robust variance, max of own and null-constrained; pass bound at its boundary), alpha %.3g, tau %.3g x pooled rate;\n",
		stats.DefaultMonitorAlpha, stats.DefaultTauRelative)
	fmt.Fprintf(w, "         4 SLIs as one family, Holm on p(harm <= allowance) with matching adjusted bounds; fail is final, pass provisional; SRM on distinct users\n")
	if useBound {
		fmt.Fprintf(w, "met: one-sided 95%% Clopper-Pearson bound of the observed rate on the target's side\n\n")
	} else {
		fmt.Fprintf(w, "met: observed rate meets the target (bound printed, not used: too few runs)\n\n")
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfail\tmedian TTF\t<=5m\t<=8m\twrong/false pass\tfinal pass\tSRM\ttarget\tobserved [95% bound]\tmet")
	allMet := true
	for _, s := range scenarios(runs, seed) {
		r, err := stats.SimulateUnits(s.cfg)
		if err != nil {
			return fmt.Errorf("scenario %q: %w", s.name, err)
		}
		row := fmt.Sprintf("%s\t%.2f%%\t%s\t%.1f%%\t%.1f%%\t%.2f%%\t%.1f%%\t%.2f%%", s.name, 100*r.FailShare(), fmtMedian(r.MedianTimeToFail()),
			100*r.FailedWithin(5*time.Minute), 100*r.FailedWithin(8*time.Minute), 100*float64(anyEverPass(r))/float64(r.Runs),
			100*float64(r.FinalPass)/float64(r.Runs), 100*r.SRMShare())
		fmt.Fprintf(progress, "%s %s: fail %.2f%%, SRM %.2f%%, any-SLI pass %.2f%%, <=5m %.1f%%, <=8m %.1f%%\n", time.Now().UTC().Format("15:04:05"), s.name,
			100*r.FailShare(), 100*r.SRMShare(), 100*float64(anyEverPass(r))/float64(r.Runs), 100*r.FailedWithin(5*time.Minute), 100*r.FailedWithin(8*time.Minute))
		if s.info {
			fmt.Fprintf(tw, "%s\t(informational)\t\t\n", row)
			continue
		}
		for i, t := range s.targets {
			k := t.rate(r)
			obs := float64(k) / float64(r.Runs)
			var bound float64
			var ok bool
			bound = clopperPearson(k, r.Runs, t.atMost)
			v := obs
			if useBound {
				v = bound
			}
			if t.atMost {
				ok = v <= t.limit
			} else {
				ok = v >= t.limit
			}
			allMet = allMet && ok
			if i > 0 {
				row = "  \t\t\t\t\t\t\t"
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f%% [%.2f%%]\t%s\n", row, t.what, 100*obs, 100*bound, yesNo(ok))
		}
	}
	qs := []struct {
		name   string
		cfg    stats.QuantileSimConfig
		target float64
		atMost bool
		count  func(stats.QuantileSimResult) int
		what   string
	}{
		{"p99 tail-only: 1% of requests +2 s, 10k requests/cohort", stats.QuantileSimConfig{Runs: runs, Seed: seed, N: 10000, Quantile: 0.99, Median: 0.1, Sigma: 0.5, TailShare: 0.01, TailShift: 2},
			0.9, false, func(r stats.QuantileSimResult) int { return r.Fails }, "fail >= 90%"},
		{"p99 A/A, 10k requests/cohort", stats.QuantileSimConfig{Runs: runs, Seed: seed, N: 10000, Quantile: 0.99, Median: 0.1, Sigma: 0.5},
			0.05, true, func(r stats.QuantileSimResult) int { return r.Fails }, "fail <= 5%"},
	}
	for _, q := range qs {
		r, err := stats.SimulateQuantile(q.cfg)
		if err != nil {
			return fmt.Errorf("scenario %q: %w", q.name, err)
		}
		k := q.count(r)
		bound := clopperPearson(k, r.Runs, q.atMost)
		v := float64(k) / float64(r.Runs)
		if useBound {
			v = bound
		}
		ok := (q.atMost && v <= q.target) || (!q.atMost && v >= q.target)
		allMet = allMet && ok
		fmt.Fprintf(tw, "%s (mean p99 diff %.2fs)\t%.2f%%\t\t\t\t\t%.1f%%\t\t%s\t%.2f%% [%.2f%%]\t%s\n", q.name, r.MeanDifference,
			100*float64(r.Fails)/float64(r.Runs), 100*float64(r.Passes)/float64(r.Runs), q.what, 100*float64(k)/float64(r.Runs), 100*bound, yesNo(ok))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("flush table: %w", err)
	}
	fmt.Fprintf(w, "\nall targets met: %s (%.1fs)\n", yesNo(allMet), time.Since(start).Seconds())
	if !allMet {
		return fmt.Errorf("acceptance targets not met")
	}
	return nil
}

// clopperPearson returns the one-sided 95% Clopper-Pearson upper (upper
// true) or lower bound of a binomial proportion k/n.
func clopperPearson(k, n int, upper bool) float64 {
	const a = 0.05
	lo, hi := 0.0, 1.0
	if upper && k >= n {
		return 1
	}
	if !upper && k <= 0 {
		return 0
	}
	for range 60 {
		mid := (lo + hi) / 2
		var tail float64
		if upper {
			// P(X <= k | mid) falls with mid; the bound is where it is a.
			c, _ := stats.BinomialCDF(int64(k), int64(n), mid)
			tail = c
			if tail > a {
				lo = mid
			} else {
				hi = mid
			}
		} else {
			// P(X >= k | mid) rises with mid.
			c, _ := stats.BinomialCDF(int64(k-1), int64(n), mid)
			tail = 1 - c
			if tail < a {
				lo = mid
			} else {
				hi = mid
			}
		}
	}
	return (lo + hi) / 2
}

func fmtMedian(d time.Duration, ok bool) string {
	if !ok {
		return "never"
	}
	return d.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
