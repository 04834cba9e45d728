package analysis

import (
	"fmt"
	"strconv"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/stats"
)

// Default tolerances of the default SLIs (used when an experiment has no
// definition): an error rate may rise by max(0.1 percentage point, 10% of
// control), a latency quantile by max(5 ms, 10% of control).
var (
	DefaultErrorRateTolerance = stats.Tolerance{Direction: stats.LowerIsBetter, Absolute: 0.001, Relative: 0.10}
	DefaultLatencyTolerance   = stats.Tolerance{Direction: stats.LowerIsBetter, Absolute: 0.005, Relative: 0.10}
)

// SLI is one indicator as the analysis runs it: the definition's SLI with
// its tolerance converted, or one of the defaults.
type SLI struct {
	// Name identifies the metric in the result.
	Name string
	// Type is what is measured.
	Type experiment.SLIType
	// Filter selects the events.
	Filter experiment.Filter
	// Quantile for latency SLIs.
	Quantile float64
	// Good defines a good event (good_events only).
	Good *experiment.GoodCriteria
	// Tolerance is the allowed harm.
	Tolerance stats.Tolerance
}

// fromView reports whether the cohort_stats view can serve the SLI's
// counts: it keeps service and operation but no attributes, HTTP status or
// per-event durations.
func (s *SLI) fromView() bool {
	if len(s.Filter.Attributes) > 0 {
		return false
	}
	switch s.Type {
	case experiment.SLIErrorRate, experiment.SLIThroughput, experiment.SLILatency:
		return true
	case experiment.SLIGoodEvents:
		return s.Good != nil && s.Good.MaxDuration == 0 && len(s.Good.HTTPStatus) == 0
	}
	return false
}

// key identifies the raw-count query of an SLI, so SLIs with the same
// filter and good criteria share one query.
func (s *SLI) key() string {
	k := s.Filter.Service + "\x00" + s.Filter.Operation + "\x00" + attrPairsKey(s.Filter.Attributes)
	if s.Good != nil {
		k += fmt.Sprintf("\x00%v\x00%d\x00%s", s.Good.Status, s.Good.MaxDuration, s.Good.HTTPStatus.String())
	}
	return k
}

func (s *SLI) unit() string {
	switch s.Type {
	case experiment.SLILatency:
		return "s"
	case experiment.SLIThroughput:
		return "events/s"
	}
	return "ratio"
}

// DefaultSLIs are compared when an experiment has no definition: the error
// rate and the latency p50, p95 and p99 over all of its events.
func DefaultSLIs() []SLI {
	out := []SLI{{Name: "error_rate", Type: experiment.SLIErrorRate, Tolerance: DefaultErrorRateTolerance}}
	for _, q := range []float64{0.5, 0.95, 0.99} {
		out = append(out, SLI{
			Name: "latency_p" + strconv.FormatFloat(q*100, 'f', -1, 64), Type: experiment.SLILatency,
			Quantile: q, Tolerance: DefaultLatencyTolerance,
		})
	}
	return out
}

// SLIsOf converts an experiment's SLIs; an experiment without SLIs (only
// flows) gets the defaults.
func SLIsOf(e *experiment.Experiment) []SLI {
	if e == nil || len(e.SLIs) == 0 {
		return DefaultSLIs()
	}
	out := make([]SLI, 0, len(e.SLIs))
	for i := range e.SLIs {
		s := &e.SLIs[i]
		tol := stats.Tolerance{Direction: stats.LowerIsBetter}
		if s.Better() == experiment.HigherIsBetter {
			tol.Direction = stats.HigherIsBetter
		}
		if s.Tolerance.Absolute != nil {
			tol.Absolute = *s.Tolerance.Absolute
		}
		if s.Tolerance.Relative != nil {
			tol.Relative = *s.Tolerance.Relative
		}
		out = append(out, SLI{Name: s.Name, Type: s.Type, Filter: s.Filter, Quantile: s.Quantile, Good: s.Good, Tolerance: tol})
	}
	return out
}

func attrPairsKey(attrs map[string]string) string {
	k := ""
	for _, p := range query.AttrPairs(attrs) {
		k += p + "\x00"
	}
	return k
}
