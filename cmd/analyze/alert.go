package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/notify"
)

// stopAlertName is the alertname of a held stop condition.
const stopAlertName = "SteadystateStopCondition"

// stopSummary says which stop conditions hold.
func stopSummary(r *analysis.Result) string {
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

// stopAlerts turns the held stop conditions into alerts (one per
// condition, labelled with the experiment and SLI, severity page).
func stopAlerts(r *analysis.Result) []notify.Alert {
	summary := stopSummary(r)
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
			Labels: map[string]string{"alertname": stopAlertName, "experiment_id": r.ExperimentID, "sli": s.SLI, "severity": "page"},
			Annotations: map[string]string{
				"summary":     summary,
				"description": fmt.Sprintf("%s of the experiment cohort is %.4g, %s the stop threshold %.4g", s.SLI, s.Value, s.Op, s.Threshold),
			},
			StartsAt: start,
		})
	}
	return out
}

// stopNotifiers builds the --webhook (Alertmanager webhook format) and
// --alertmanager (API v2) notifiers.
func stopNotifiers(webhook, alertmanager string) ([]notify.Notifier, error) {
	var out []notify.Notifier
	if webhook != "" {
		w, err := notify.NewWebhook(webhook, notify.HTTPSettings{})
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	if alertmanager != "" {
		a, err := notify.NewAlertmanager(alertmanager, notify.HTTPSettings{})
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// postStop sends the held stop conditions to every notifier.
func postStop(ctx context.Context, ns []notify.Notifier, r *analysis.Result) error {
	alerts := stopAlerts(r)
	var errs []error
	for _, n := range ns {
		if err := n.Notify(ctx, alerts); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
