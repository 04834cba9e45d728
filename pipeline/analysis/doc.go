// Package analysis is the query layer of `analyze compare` and `analyze
// live`: given a Source (ClickHouse through *Store, or a fake in tests), an
// experiment (its definition, or just an id with the default SLIs) and a
// window, it fetches the cohort counts from the cohort_stats view, counts
// SLIs the view cannot serve on the raw events table, draws the latency
// sample, and judges every SLI with the statistics of pipeline/stats.
//
// Compare is one look (fixed horizon: Fisher's exact test and Newcombe
// intervals for ratios, Mann-Whitney U and order-statistic intervals for
// latency quantiles, an exact binomial test for throughput). Monitor is
// the live version: anytime-valid tests on cumulative counts, re-reading
// only the view buckets that have not settled.
//
// Both return a *Result, the documented JSON contract of `analyze compare
// --output json` and of each `analyze live` JSON line. Every float in a
// Result is finite: undefined quantities (a relative change against a zero
// control) are null, and a cohort without data gives the verdict
// insufficient_data, never NaN. Synthetic traffic never counts.
package analysis
