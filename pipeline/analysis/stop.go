package analysis

import (
	"fmt"
	"strings"

	"github.com/steadystate/steadystate/pipeline/notify"
)

// StopAlertName is the alertname of a held stop condition.
const StopAlertName = "SteadystateStopCondition"

// StopSummary says which stop conditions hold.
func StopSummary(r *Result) string {
	var parts []string
	for _, s := range r.StopConditions {
		if s.Holds {
			p := fmt.Sprintf("%s is %.4g, %s %.4g", s.SLI, s.Value, s.Op, s.Threshold)
			if s.For != "" {
				p += " for " + s.For
			}
			parts = append(parts, p)
		}
	}
	return fmt.Sprintf("stop experiment %s: %s", r.ExperimentID, strings.Join(parts, "; "))
}

// StopAlerts turns the held stop conditions into alerts (one per
// condition, labelled with the experiment and SLI, severity page).
func StopAlerts(r *Result) []notify.Alert {
	summary := StopSummary(r)
	var out []notify.Alert
	for _, s := range r.StopConditions {
		if !s.Holds {
			continue
		}
		start := r.GeneratedAt
		if s.Since != nil {
			start = *s.Since
		}
		out = append(out, notify.Alert{
			Labels: map[string]string{"alertname": StopAlertName, "experiment_id": r.ExperimentID, "sli": s.SLI, "severity": "page"},
			Annotations: map[string]string{
				"summary":     summary,
				"description": fmt.Sprintf("%s of the experiment cohort is %.4g, %s the stop threshold %.4g", s.SLI, s.Value, s.Op, s.Threshold),
			},
			StartsAt: start,
		})
	}
	return out
}
