package report

import (
	"testing"
	"time"
)

func TestLinesBreakWhereBucketsAreMissing(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	at := func(s int) Point { return Point{T: t0.Add(time.Duration(s) * time.Second), Y: 1} }
	got := segments([]Point{at(0), at(10), at(20), at(300), at(310), at(600)})
	if len(got) != 3 || len(got[0]) != 3 || len(got[1]) != 2 || len(got[2]) != 1 {
		t.Fatalf("segments = %v, want runs of 3, 2 and 1 points", got)
	}
	if n := len(segments([]Point{at(0), at(10), at(20)})); n != 1 {
		t.Fatalf("an unbroken series gave %d segments", n)
	}
}
