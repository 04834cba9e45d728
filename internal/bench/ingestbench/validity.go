package main

import (
	"fmt"
	"strings"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
	"github.com/steadystate/steadystate/queries"
)

// minValid is the fewest valid rounds a median needs before a ratio is
// taken from it: one round is a sample, not a median.
const minValid = 2

// overRead marks a run of a path that consumes the pre-filled topic (B, C,
// D) invalid when its events table holds more rows than the topic has
// records: it did more work than the run it is compared with (the Kafka
// engine re-read 0.5-0.7M records of a 1M-record topic in two rounds of
// one invocation on 2026-11-30, which the median then counted as fast or
// slow at random). Counted once the run is complete, before its CPU is
// read.
func (b *bench) overRead(db, who string, s *sample) {
	if b.records == 0 {
		return
	}
	rows := b.count("bench/events_count.sql", db, queries.Params{"experiment_id": ""})
	if rows > b.records {
		s.invalid = fmt.Sprintf("%s wrote %d rows of a %d-record topic (it read records twice)", who, rows, b.records)
	}
}

// valid is the rounds of ss that count.
func valid(ss []sample) []sample {
	var out []sample
	for _, s := range ss {
		if s.invalid == "" {
			out = append(out, s)
		}
	}
	return out
}

// validNote says how many of a path's rounds count, when not all do.
func validNote(ss []sample) string {
	if n := len(valid(ss)); n < len(ss) {
		return fmt.Sprintf(" (%d of %d rounds valid)", n, len(ss))
	}
	return ""
}

// ratio is a ratio of two paths' median events/s over their valid rounds.
type ratio struct {
	value    float64
	measured bool
	// nNum, nDen are the valid rounds of each median.
	nNum, nDen int
}

// ratioOfMedians is median events/s of num's valid rounds over den's;
// not measured when either has fewer than minValid valid rounds.
func ratioOfMedians(num, den []sample) ratio {
	vn, vd := valid(num), valid(den)
	r := ratio{nNum: len(vn), nDen: len(vd)}
	if len(vn) < minValid || len(vd) < minValid {
		return r
	}
	if d := stagecpu.Median(rates(vd)); d > 0 {
		r.value, r.measured = stagecpu.Median(rates(vn))/d, true
	}
	return r
}

// line prints the ratio against a target: "met", "MISSED" or "not
// measured", and the valid rounds of each median.
func (r ratio) line(label string, target float64) string {
	rounds := fmt.Sprintf("(valid rounds %d / %d)", r.nNum, r.nDen)
	if !r.measured {
		return fmt.Sprintf("  %-32s   -    (target >= %.1f)  not measured: fewer than %d valid rounds %s", label, target, minValid, rounds)
	}
	verdict := "MISSED"
	if r.value >= target {
		verdict = "met"
	}
	return fmt.Sprintf("  %-32s %.2fx  (target >= %.1f)  %s %s", label, r.value, target, verdict, rounds)
}

// validPairs is the round pairs (a[i], b[i]) of two interleaved paths in
// which both runs are valid: a per-round comparison skips a pair with an
// invalid run rather than pairing rounds that did not run side by side.
func validPairs(a, b []sample) [][2]sample {
	var out [][2]sample
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].invalid == "" && b[i].invalid == "" {
			out = append(out, [2]sample{a[i], b[i]})
		}
	}
	return out
}

// invalidRounds lists every invalid run of the paths in keys.
func invalidRounds(keys []string, samples map[string][]sample) []string {
	var out []string
	for _, k := range keys {
		for i, s := range samples[k] {
			if s.invalid != "" {
				out = append(out, fmt.Sprintf("  %s round %d: %s", k, i+1, s.invalid))
			}
		}
	}
	return out
}

// roundOrder is the order of the paths in round r (from 0): keys as
// given, except that the latency paths (E, E1, E2) run in reverse order in
// odd rounds, so that in pairs like E,E2 each variant runs first as often
// as the other (the second of two latency runs starts on a machine still
// merging the first's parts).
func roundOrder(keys []string, r int) []string {
	var lat []int
	for i, k := range keys {
		if strings.HasPrefix(k, "E") {
			lat = append(lat, i)
		}
	}
	out := append([]string(nil), keys...)
	if r%2 == 1 {
		for i, j := 0, len(lat)-1; i < j; i, j = i+1, j-1 {
			out[lat[i]], out[lat[j]] = out[lat[j]], out[lat[i]]
		}
	}
	return out
}
