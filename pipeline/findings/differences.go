package findings

import (
	"cmp"
	"math"
	"slices"
)

// DifferenceExcludedKeys are attribute keys "what is different" never
// lists: the cohort and experiment tags and their aliases (the feature
// flag that assigns the cohort), which differ by construction, and the
// attributes the columns service, error_type and http_status were
// derived from, which would repeat the column's fact under another name.
var DifferenceExcludedKeys = []string{
	"chaos.experiment.id", "chaos.experiment.cohort", "chaos.synthetic", "experiment_id", "cohort", "synthetic",
	"feature_flag.key", "feature_flag.result.variant", "feature_flag.variant", "feature_flag.provider.name", "feature_flag.provider_name",
	"feature_flag.result.value", "feature_flag.context.id", "feature_flag.set.id", "feature_flag.version",
	"service.name", "http.response.status_code", "http.status_code", "error.type", "exception.type",
}

// DifferenceNoiseKeys matches (RE2, as ClickHouse's match) attribute keys
// whose values are per-process or per-request noise: ids, ports,
// timestamps, peer addresses and sizes. "What is different" leaves them
// out unless asked for all attributes.
const DifferenceNoiseKeys = `(?i)((^|[._])(id|ids|uuid|guid|pid|tid|port|timestamp|time|ts|key|size|bytes|length)$` +
	`|^(client|source|network\.peer|net\.peer|net\.sock\.peer|net\.sock\.host|network\.local)\.(address|addr|ip|name)$|^(trace_id|span_id|flow\.key|thread\.name)$)`

// z95 is the normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// Score is the significance-aware rank of a difference: the lower end of
// the 95% interval of BadShare - ControlShare (Agresti-Caffo: one success
// and one failure added to each side), so a value carried by 3 of 3 failed
// events does not outrank one carried by 900 of 1000.
func (d Difference) Score() float64 {
	p1 := (float64(d.Bad) + 1) / (float64(d.BadTotal) + 2)
	p2 := (float64(d.Control) + 1) / (float64(d.ControlTotal) + 2)
	se := math.Sqrt(p1*(1-p1)/(float64(d.BadTotal)+2) + p2*(1-p2)/(float64(d.ControlTotal)+2))
	return p1 - p2 - z95*se
}

// RankDifferences orders candidates by Score (then bad events, key,
// value, so the order is total) and keeps the first n.
func RankDifferences(ds []Difference, n int) []Difference {
	out := slices.Clone(ds)
	for i := range out {
		out[i].Rank = out[i].Score()
	}
	slices.SortStableFunc(out, func(a, b Difference) int {
		return cmp.Or(cmp.Compare(b.Rank, a.Rank), cmp.Compare(b.Bad, a.Bad), cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
