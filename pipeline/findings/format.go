package findings

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// FormatValue writes a value in an SLI's unit for people: ratios as
// percentages, seconds as milliseconds or seconds.
func FormatValue(unit string, v float64) string { return fmtValue(unit, v) }

func fmtValue(unit string, v float64) string {
	switch unit {
	case "ratio":
		return pct(v)
	case "s":
		if math.Abs(v) < 1 {
			return trimFloat(v*1000, 1) + " ms"
		}
		return trimFloat(v, 3) + " s"
	case "events/s":
		return trimFloat(v, 2) + "/s"
	}
	return trimFloat(v, 4)
}

func fmtSigned(unit string, v float64) string {
	if v > 0 {
		return "+" + fmtValue(unit, v)
	}
	return fmtValue(unit, v)
}

// pct writes a ratio as a percentage with up to two decimals.
func pct(v float64) string { return trimFloat(v*100, 2) + "%" }

// Pct is pct for renderers.
func Pct(v float64) string { return pct(v) }

func trimFloat(v float64, prec int) string {
	s := strconv.FormatFloat(round(v, prec), 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func fmtP(p float64) string {
	if p < 0.0001 {
		return "< 0.0001"
	}
	return trimFloat(p, 4)
}

// FormatDuration writes a duration as "1h 5m", "2m 30s" or "45s".
func FormatDuration(d time.Duration) string { return fmtDuration(d) }

func fmtDuration(d time.Duration) string {
	if d < 0 {
		return "-" + fmtDuration(-d)
	}
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	case m > 0 && s > 0:
		return fmt.Sprintf("%dm %ds", m, s)
	case m > 0:
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%ds", s)
}

func orAny(s string) string {
	if s == "" {
		return "any"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func round(v float64, prec int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	p := math.Pow(10, float64(prec))
	return math.Round(v*p) / p
}

func clamp01(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return math.Min(v, 1)
}

func minutes(m float64) time.Duration { return time.Duration(m * float64(time.Minute)) }
