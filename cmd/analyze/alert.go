package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/steadystate/steadystate/pipeline/analysis"
)

// stopAlert posts a held stop condition: a generic JSON webhook and an
// Alertmanager v2 alert. (Kept small on purpose: when pipeline/notify
// lands, live switches to it.)
type stopAlert struct {
	Client       *http.Client
	Webhook      string
	Alertmanager string
}

// webhookPayload is what --webhook receives.
type webhookPayload struct {
	Event        string           `json:"event"`
	ExperimentID string           `json:"experiment_id"`
	Summary      string           `json:"summary"`
	Result       *analysis.Result `json:"result"`
}

type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

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

func (a *stopAlert) post(ctx context.Context, r *analysis.Result) error {
	summary := stopSummary(r)
	if a.Webhook != "" {
		if err := a.send(ctx, a.Webhook, webhookPayload{Event: "stop_condition", ExperimentID: r.ExperimentID, Summary: summary, Result: r}); err != nil {
			return fmt.Errorf("webhook: %w", err)
		}
	}
	if a.Alertmanager != "" {
		var alerts []amAlert
		for _, s := range r.StopConditions {
			if !s.Holds {
				continue
			}
			start := r.GeneratedAt
			if s.Since != nil {
				start = *s.Since
			}
			alerts = append(alerts, amAlert{
				Labels: map[string]string{
					"alertname": "SteadystateStopCondition", "experiment_id": r.ExperimentID, "sli": s.SLI, "severity": "page",
				},
				Annotations: map[string]string{"summary": summary, "description": fmt.Sprintf("%s %s %.4g (now %.4g)", s.SLI, s.Op, s.Threshold, s.Value)},
				StartsAt:    start,
			})
		}
		url := strings.TrimRight(a.Alertmanager, "/") + "/api/v2/alerts"
		if err := a.send(ctx, url, alerts); err != nil {
			return fmt.Errorf("alertmanager: %w", err)
		}
	}
	return nil
}

func (a *stopAlert) send(ctx context.Context, url string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := a.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("post %s: %s: %s", url, resp.Status, bytes.TrimSpace(msg))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}
