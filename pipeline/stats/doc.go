// Package stats holds the pure statistics behind Steadystate verdicts:
// experiment vs control, control vs baseline, SLO good/bad ratios, burn
// rate and stop conditions.
//
// The package does no I/O. Every exported function returns finite numbers:
// where a quantity is undefined (zero counts, empty samples, a zero control
// rate) the result carries a documented default value plus a flag, never NaN
// or ±Inf.
//
// Two analysis paths exist for error rates:
//
//   - Fixed-horizon (CompareProportions): Wilson and Newcombe score
//     intervals plus Fisher's exact test. Valid for one look at the data,
//     e.g. the final report of a game day.
//   - Anytime-valid (ProportionMonitor): a one- and two-sided normal-mixture
//     mSPRT (Johari et al., "Always valid inference", 2017/2022) with a
//     running p-value and confidence sequence that stay valid when the data
//     are checked every refresh (every 5 s during a game day).
//
// Latency uses the Mann-Whitney U test and distribution-free order-statistic
// intervals for quantile differences. Sample-ratio mismatch is checked with
// a chi-square goodness-of-fit test (one look) and a sequential
// Dirichlet-multinomial test (Lindon & Malek, 2020) for repeated looks.
// Verdicts are derived by DecideMetric and Overall (or Decide, which also
// adjusts p-values across SLIs with Holm or Benjamini-Hochberg).
//
// Control vs baseline uses the same functions with the baseline in the
// control position and the current control cohort in the experiment
// position.
package stats
