// Command statsharness runs the Monte Carlo acceptance study of the live
// error-rate monitoring loop (pipeline/stats) and prints a table: A/A
// false-positive rate, time to fail for a doubled error rate, and
// sample-ratio-mismatch detection. Every run is seeded, so the table is
// reproducible. It exits with status 1 when a target is missed.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/steadystate/steadystate/pipeline/stats"
)

func main() {
	runs := flag.Int("runs", 1000, "runs per scenario")
	seed := flag.Uint64("seed", 20240601, "base seed")
	tau := flag.Float64("tau", stats.DefaultTauRelative, "mixing sd as a fraction of the pooled error rate")
	alpha := flag.Float64("alpha", stats.DefaultMonitorAlpha, "anytime-valid significance level")
	flag.Parse()
	if err := run(os.Stdout, *runs, *seed, *tau, *alpha); err != nil {
		fmt.Fprintln(os.Stderr, "statsharness:", err)
		os.Exit(1)
	}
}

type scenario struct {
	name  string
	cfg   stats.SimConfig
	check func(stats.SimResult) (string, bool)
}

func run(w io.Writer, runs int, seed uint64, tau, alpha float64) error {
	mon := stats.MonitorConfig{Alpha: alpha, TauRelative: tau}
	base := func(ctrlRate, expRate, perMin float64) stats.SimConfig {
		return stats.SimConfig{
			Runs:                   runs,
			Seed:                   seed,
			ControlEventsPerMin:    perMin,
			ExperimentEventsPerMin: perMin,
			ControlErrorRate:       ctrlRate,
			ExperimentErrorRate:    expRate,
			Monitor:                mon,
		}
	}
	// SRM scenarios keep the experiment cohort at 1000/min; ctrlPerMin sets
	// the split.
	srm := func(expected, actual, ctrlPerMin float64) stats.SimConfig {
		c := base(0.01, 0.01, 1000)
		c.ControlEventsPerMin = ctrlPerMin
		c.ExpectedExperimentShare = expected
		c.ActualExperimentShare = actual
		return c
	}
	scenarios := []scenario{
		{"A/A 1% vs 1%, 1000/min", base(0.01, 0.01, 1000), func(r stats.SimResult) (string, bool) {
			return "fail share <= 5%", r.FailShare() <= 0.05
		}},
		{"A/A 1% vs 1%, 5000/min", base(0.01, 0.01, 5000), func(r stats.SimResult) (string, bool) {
			return "fail share <= 5%", r.FailShare() <= 0.05
		}},
		{"A/A 0.1% vs 0.1%, 1000/min (low counts)", base(0.001, 0.001, 1000), func(r stats.SimResult) (string, bool) {
			return "fail share <= 5%", r.FailShare() <= 0.05
		}},
		{"A/A 1%, random 50/50 split, 2000/min", srm(0.5, 0.5, 1000), func(r stats.SimResult) (string, bool) {
			return "fail <= 5%, SRM seq <= 1%", r.FailShare() <= 0.05 && r.SRMShare() <= 0.01
		}},
		{"A/A 1%, random 5/95 split, 20000/min", srm(0.05, 0.05, 19000), func(r stats.SimResult) (string, bool) {
			return "fail <= 5%, SRM seq <= 1%", r.FailShare() <= 0.05 && r.SRMShare() <= 0.01
		}},
		{"1% -> 2%, 1000/min", base(0.01, 0.02, 1000), func(r stats.SimResult) (string, bool) {
			m, ok := r.MedianTimeToFail()
			return "median <= 3m, >= 90% by 5m", ok && m <= 3*time.Minute && r.FailedWithin(5*time.Minute) >= 0.9
		}},
		{"1% -> 2%, 5000/min", base(0.01, 0.02, 5000), func(r stats.SimResult) (string, bool) {
			return ">= 90% by 2m", r.FailedWithin(2*time.Minute) >= 0.9
		}},
		{"SRM 50/50 planned, 55/45 actual, 2000/min", srm(0.5, 0.55, 1000), func(r stats.SimResult) (string, bool) {
			return "SRM flagged (sequential)", r.SRMShare() >= 0.99
		}},
		{"SRM 5/95 planned, 5.5/94.5 actual, 20000/min", srm(0.05, 0.055, 19000), func(r stats.SimResult) (string, bool) {
			return "SRM flagged (sequential)", r.SRMShare() >= 0.99
		}},
	}

	fmt.Fprintf(w, "statsharness: %d runs/scenario, seed %d, 10 min at one look per 5 s (120 looks)\n", runs, seed)
	fmt.Fprintf(w, "monitor: normal-mixture mSPRT, alpha %.3g (one-sided fail test), tau = %.3g x pooled error rate, min %d events/cohort and %d errors total\n",
		alpha, tau, stats.DefaultMinEventsPerCohort, stats.DefaultMinTotalBad)
	fmt.Fprintf(w, "verdict: fail when always-valid p(worse) <= alpha and anytime lower bound > 0 (tolerance 0)\n")
	fmt.Fprintf(w, "srm: sequential Dirichlet-multinomial test (concentration %d) and chi-square, both at %.3g\n\n",
		stats.DefaultSRMConcentration, stats.DefaultSRMThreshold)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfail\tmedian TTF\t<=2m\t<=3m\t<=5m\tSRM seq\tmedian SRM\tSRM chi2 any look\tSRM chi2 final\ttarget\tmet")
	allMet := true
	start := time.Now()
	for _, s := range scenarios {
		r, err := stats.Simulate(s.cfg)
		if err != nil {
			return fmt.Errorf("scenario %q: %w", s.name, err)
		}
		target, ok := s.check(r)
		allMet = allMet && ok
		fmt.Fprintf(tw, "%s\t%.1f%%\t%s\t%.1f%%\t%.1f%%\t%.1f%%\t%.1f%%\t%s\t%.1f%%\t%.1f%%\t%s\t%s\n",
			s.name, 100*r.FailShare(), fmtMedian(r.MedianTimeToFail()),
			100*r.FailedWithin(2*time.Minute), 100*r.FailedWithin(3*time.Minute), 100*r.FailedWithin(5*time.Minute),
			100*r.SRMShare(), fmtMedian(r.MedianTimeToSRM()),
			100*float64(r.RepeatedChiSquareSRM)/float64(r.Runs), 100*float64(r.FinalChiSquareSRM)/float64(r.Runs),
			target, yesNo(ok))
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
