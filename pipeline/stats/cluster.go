package stats

import (
	"fmt"
	"math"
)

// UnitCounts is one cohort's tally of a ratio metric (bad events out of
// events) at the randomization unit: cohorts are assigned per unit (a
// user, a tenant, a session), so the unit, not the event, is the
// independent observation. Besides the totals it carries the sums over
// units u of n_u², x_u² and x_u·n_u (n_u events, x_u bad events of unit
// u), which is all the delta-method (cluster-robust) variance of the
// ratio X/N needs; the sums add up over units, so ClickHouse can compute
// them from per-unit tallies.
//
// Units == 0 means the unit is unknown: every event counts as its own
// unit (x_u ∈ {0,1}, n_u = 1), see EventUnits.
type UnitCounts struct {
	// Units is the number of distinct units with at least one event.
	Units int64
	// Bad is the number of bad events (Σ x_u).
	Bad int64
	// Total is the number of events (Σ n_u).
	Total int64
	// SumTotalSq is Σ n_u².
	SumTotalSq float64
	// SumBadSq is Σ x_u².
	SumBadSq float64
	// SumBadTotal is Σ x_u n_u.
	SumBadTotal float64
}

// EventUnits returns the tally that treats every event as its own unit.
func EventUnits(c Counts) UnitCounts {
	return UnitCounts{Units: c.Total, Bad: c.Bad, Total: c.Total,
		SumTotalSq: float64(c.Total), SumBadSq: float64(c.Bad), SumBadTotal: float64(c.Bad)}
}

// Counts returns the event-level tally.
func (u UnitCounts) Counts() Counts { return Counts{Bad: u.Bad, Total: u.Total} }

// Add returns u + o (the tallies of disjoint unit sets).
func (u UnitCounts) Add(o UnitCounts) UnitCounts {
	return UnitCounts{Units: u.Units + o.Units, Bad: u.Bad + o.Bad, Total: u.Total + o.Total,
		SumTotalSq: u.SumTotalSq + o.SumTotalSq, SumBadSq: u.SumBadSq + o.SumBadSq, SumBadTotal: u.SumBadTotal + o.SumBadTotal}
}

// Complement returns the tally of the good events (n_u - x_u per unit):
// a good-event ratio is the complement of a bad-event ratio with the same
// units and the same variance.
func (u UnitCounts) Complement() UnitCounts {
	return UnitCounts{Units: u.Units, Bad: u.Total - u.Bad, Total: u.Total, SumTotalSq: u.SumTotalSq,
		SumBadSq: u.SumBadSq - 2*u.SumBadTotal + u.SumTotalSq, SumBadTotal: u.SumTotalSq - u.SumBadTotal}
}

func (u UnitCounts) validate() error {
	if err := u.Counts().validate(); err != nil {
		return err
	}
	if u.Units < 0 || u.Units > u.Total {
		return fmt.Errorf("units %d outside [0, events %d]", u.Units, u.Total)
	}
	for _, v := range []float64{u.SumTotalSq, u.SumBadSq, u.SumBadTotal} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("unit sums %v %v %v must be finite and non-negative", u.SumTotalSq, u.SumBadSq, u.SumBadTotal)
		}
	}
	return nil
}

// normalized fills an unknown unit (Units == 0 with events) as one unit per
// event.
func (u UnitCounts) normalized() UnitCounts {
	if u.Units == 0 && u.Total > 0 {
		return EventUnits(u.Counts())
	}
	return u
}

// squaredResiduals is Σ_u (x_u - r n_u)².
func (u UnitCounts) squaredResiduals(r float64) float64 {
	return math.Max(u.SumBadSq-2*r*u.SumBadTotal+r*r*u.SumTotalSq, 0)
}

// RatioVariance returns the delta-method (cluster-robust, CR1) variance of
// the ratio X/N over units: K/(K-1) Σ_u (x_u - R n_u)² / N². With one
// event per unit it is the binomial variance R(1-R)/N up to the K/(K-1)
// factor. It is 0 with fewer than two units.
func (u UnitCounts) RatioVariance() float64 {
	u = u.normalized()
	if u.Units < 2 || u.Total <= 0 {
		return 0
	}
	n := float64(u.Total)
	r := float64(u.Bad) / n
	k := float64(u.Units)
	return k / (k - 1) * u.squaredResiduals(r) / (n * n)
}

// DesignEffect is the ratio of the unit-level variance of X/N to the
// binomial variance of independent events (1 for independent events,
// larger when a unit's events are correlated); 1 when undefined.
func (u UnitCounts) DesignEffect() float64 {
	u = u.normalized()
	if u.Total <= 0 || u.Bad <= 0 || u.Bad >= u.Total {
		return 1
	}
	r := float64(u.Bad) / float64(u.Total)
	b := r * (1 - r) / float64(u.Total)
	return u.RatioVariance() / b
}

// DifferenceVariance returns the variance used for the difference of two
// unit-level ratios p2 - p1 (experiment minus control). Each cohort's
// variance is the larger of its own (unpooled) cluster-robust variance and
// the null-constrained one, which assumes both cohorts share the pooled
// rate p̄ and the pooled unit-level dispersion σ̂² = Σ_all (x_u - p̄ n_u)² /
// (K-1), giving K_i σ̂² / N_i² for cohort i. The maximum keeps coverage
// when one cohort is small and has seen no (or few) errors yet, where its
// own variance is near zero although the truth is not; the unpooled term
// keeps it when the cohort's rate is really higher than the pooled one.
// Own rates are shrunk by half a pseudo-event so a cohort with zero bad
// events still gets a positive variance.
func DifferenceVariance(control, experiment UnitCounts) float64 {
	vc, ve, _ := cohortVariances(control, experiment)
	return vc + ve
}

// cohortVariances returns the two terms of DifferenceVariance and the
// pooled design effect (>= 1).
func cohortVariances(control, experiment UnitCounts) (vc, ve, deff float64) {
	c, e := control.normalized(), experiment.normalized()
	all := c.Add(e)
	if all.Total <= 0 {
		return 0, 0, 1
	}
	pooled := (float64(all.Bad) + 0.5) / (float64(all.Total) + 1)
	k := float64(all.Units)
	sigma2 := 0.0
	if k > 1 {
		sigma2 = all.squaredResiduals(pooled) / (k - 1)
	}
	// Floor the dispersion at the binomial one at the pooled rate
	// (design effect >= 1 per event): correlation never makes a unit's
	// events more informative than independent ones.
	perUnitEvents := float64(all.Total) / math.Max(k, 1)
	binom := pooled * (1 - pooled) * perUnitEvents
	deff = math.Max(sigma2/binom, 1)
	sigma2 = math.Max(sigma2, binom)
	var out [2]float64
	for i, u := range []UnitCounts{c, e} {
		if u.Total <= 0 {
			continue
		}
		n := float64(u.Total)
		null := float64(u.Units) * sigma2 / (n * n)
		s := (float64(u.Bad) + 0.5) / (n + 1)
		own := s * (1 - s) / n * math.Max(u.DesignEffect(), 1)
		if u.Units >= 2 {
			own = math.Max(own, u.RatioVariance())
		}
		out[i] = math.Max(null, own)
	}
	return out[0], out[1], deff
}

// boundaryVariance is the variance of the difference when the experiment's
// true rate is q (a boundary of the interval): the experiment term is at
// least the binomial variance at q times the pooled design effect. Used
// for the upper bound, which decides a pass, so that a small cohort whose
// errors happen to be few so far cannot narrow the interval below the
// boundary it is tested against.
func boundaryVariance(vc, ve, deff, q float64, n2 int64) float64 {
	q = math.Min(math.Max(q, 0), 1)
	if n2 <= 0 {
		return vc + ve
	}
	return vc + math.Max(ve, q*(1-q)/float64(n2)*deff)
}

// WaldEvidence is verdict evidence for a difference d (experiment minus
// control) with an approximately normal estimate of variance v, e.g. the
// unit-level difference of two ratios with DifferenceVariance: the
// interval d ± z(1-alpha)·√v at every level (Bounds), the tolerance tests
// PAbove/PBelow from the same normal, PHarm for d <= 0. v <= 0 gives
// Insufficient evidence.
func WaldEvidence(d, v, baseline, alpha float64) Evidence {
	ev := Evidence{Baseline: baseline, Effect: d, Lower: d, Upper: d, PHarm: 1}
	if !(v > 0) || math.IsInf(v, 0) || math.IsNaN(d) {
		ev.Insufficient = true
		return ev
	}
	se := math.Sqrt(v)
	ev.Bounds = func(a float64) (float64, float64) {
		z, err := NormalQuantile(1 - a)
		if err != nil {
			return -unboundedEnd, unboundedEnd
		}
		return d - z*se, d + z*se
	}
	ev.PAbove = func(delta float64) float64 { return NormalSF((d - delta) / se) }
	ev.PBelow = func(delta float64) float64 { return NormalCDF((d - delta) / se) }
	ev.Lower, ev.Upper = ev.Bounds(alpha)
	ev.PHarm = ev.PAbove(0)
	return ev
}
