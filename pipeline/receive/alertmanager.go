package receive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Alertmanager webhook notifications (payload version 4) become events of
// kind "alert", one per alert in the notification:
//
//   - event_id: a hash of the alert's fingerprint, status and startsAt, so
//     a notification Alertmanager repeats (retries, repeat_interval, group
//     re-sends) is the same row; the resolution of an alert is a second row;
//   - event_time: startsAt while firing, endsAt once resolved; ingest_time is
//     when the notification arrived;
//   - name: the alertname label; service: the service label, else job, else
//     "alertmanager"; severity: the severity label; body: the summary
//     annotation, else description;
//   - status: "error" while firing, "ok" once resolved (is_error stays 0:
//     alerts are not failed requests and never count in an SLI);
//   - experiment_id and cohort: the labels experiment or chaos_experiment_id,
//     and cohort or chaos_experiment_cohort, when present;
//   - attributes: every label as "label.<name>", every annotation as
//     "annotation.<name>", and alert.status, alert.fingerprint,
//     alert.starts_at, alert.ends_at, alert.generator_url,
//     alertmanager.receiver, alertmanager.group_key.
//
// Alert attributes are bounded like other events' (MaxAlertValueBytes).

// Alert label names Steadystate reads.
const (
	LabelAlertName          = "alertname"
	LabelExperiment         = "experiment"
	LabelChaosExperimentID  = "chaos_experiment_id"
	LabelCohort             = "cohort"
	LabelChaosCohort        = "chaos_experiment_cohort"
	LabelSeverity           = "severity"
	LabelService            = "service"
	LabelJob                = "job"
	AlertServiceDefault     = "alertmanager"
	MaxAlertValueBytes      = 4096
	alertmanagerPayloadVers = "4"
)

// AlertmanagerPayload is the body of an Alertmanager webhook notification.
type AlertmanagerPayload struct {
	Version           string              `json:"version"`
	GroupKey          string              `json:"groupKey"`
	TruncatedAlerts   int                 `json:"truncatedAlerts"`
	Status            string              `json:"status"`
	Receiver          string              `json:"receiver"`
	GroupLabels       map[string]string   `json:"groupLabels"`
	CommonLabels      map[string]string   `json:"commonLabels"`
	CommonAnnotations map[string]string   `json:"commonAnnotations"`
	ExternalURL       string              `json:"externalURL"`
	Alerts            []AlertmanagerAlert `json:"alerts"`
}

// AlertmanagerAlert is one alert of a notification.
type AlertmanagerAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// ParseAlertmanager decodes a webhook body and converts its alerts into
// events received at now. Alerts with problems are left out and named in a
// *PartialError (by their index in "alerts"); a body that is not a version
// 4 notification is an error with no events.
func ParseAlertmanager(body []byte, now time.Time) ([]telemetry.Event, error) {
	var p AlertmanagerPayload
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("alertmanager payload: invalid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("alertmanager payload: data after the JSON object")
	}
	if p.Version != alertmanagerPayloadVers {
		return nil, fmt.Errorf("alertmanager payload: version %q: want %q", p.Version, alertmanagerPayloadVers)
	}
	if len(p.Alerts) == 0 {
		return nil, errors.New("alertmanager payload: no alerts")
	}
	events := make([]telemetry.Event, 0, len(p.Alerts))
	var errs []error
	for i := range p.Alerts {
		e, err := alertEvent(&p, &p.Alerts[i], now)
		if err != nil {
			errs = append(errs, fmt.Errorf("alerts[%d]: %w", i, err))
			continue
		}
		events = append(events, e)
	}
	if len(errs) > 0 {
		return events, &PartialError{Rejected: len(errs), Err: errors.Join(errs...)}
	}
	return events, nil
}

func alertEvent(p *AlertmanagerPayload, a *AlertmanagerAlert, now time.Time) (telemetry.Event, error) {
	e := telemetry.Event{Kind: telemetry.KindAlert, IngestNs: now.UnixNano()}
	name := a.Labels[LabelAlertName]
	if name == "" {
		return e, fmt.Errorf("labels.%s: required", LabelAlertName)
	}
	if a.StartsAt.IsZero() {
		return e, errors.New("startsAt: required")
	}
	if a.StartsAt.Before(time.Unix(0, 0)) {
		return e, fmt.Errorf("startsAt %s: before 1970", a.StartsAt.Format(time.RFC3339))
	}
	switch a.Status {
	case "firing":
		e.Status = telemetry.StatusError
		e.TimeNs = a.StartsAt.UnixNano()
	case "resolved":
		e.Status = telemetry.StatusOK
		e.TimeNs = a.EndsAt.UnixNano()
		if a.EndsAt.IsZero() || a.EndsAt.Before(a.StartsAt) {
			e.TimeNs = now.UnixNano()
		}
	default:
		return e, fmt.Errorf("status %q: want \"firing\" or \"resolved\"", truncateValue(a.Status, 40))
	}
	exp := firstNonEmpty(a.Labels[LabelExperiment], a.Labels[LabelChaosExperimentID])
	if exp != "" {
		if err := telemetry.ValidateID(exp); err != nil {
			return e, fmt.Errorf("labels.%s: %w", LabelExperiment, err)
		}
	}
	cohort, err := telemetry.ParseCohort(firstNonEmpty(a.Labels[LabelCohort], a.Labels[LabelChaosCohort]))
	if err != nil {
		return e, fmt.Errorf("labels.%s: %w", LabelCohort, err)
	}
	fp := a.Fingerprint
	if fp == "" {
		fp = LabelsFingerprint(a.Labels)
	}
	e.ID = alertID(fp, a.Status, a.StartsAt)
	e.Name = name
	e.Service = firstNonEmpty(a.Labels[LabelService], a.Labels[LabelJob], AlertServiceDefault)
	e.Severity = a.Labels[LabelSeverity]
	e.ExperimentID = exp
	e.Cohort = cohort
	e.Body = truncateValue(firstNonEmpty(a.Annotations["summary"], a.Annotations["description"]), MaxAlertValueBytes)

	attrs := map[string]string{
		"alert.status":              a.Status,
		"alert.fingerprint":         fp,
		"alert.starts_at":           a.StartsAt.UTC().Format(time.RFC3339Nano),
		"alert.generator_url":       a.GeneratorURL,
		"alertmanager.receiver":     p.Receiver,
		"alertmanager.group_key":    p.GroupKey,
		"alertmanager.external_url": p.ExternalURL,
	}
	if !a.EndsAt.IsZero() && a.EndsAt.After(time.Unix(0, 0)) {
		attrs["alert.ends_at"] = a.EndsAt.UTC().Format(time.RFC3339Nano)
	}
	for k, v := range a.Labels {
		attrs["label."+k] = v
	}
	for k, v := range a.Annotations {
		attrs["annotation."+k] = v
	}
	keys := make([]string, 0, len(attrs))
	for k, v := range attrs {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	e.AttrKeys = keys
	e.AttrValues = make([]string, len(keys))
	for i, k := range keys {
		e.AttrValues[i] = truncateValue(attrs[k], MaxAlertValueBytes)
	}
	return e, nil
}

// alertID is the event id of one state of one alert: the same alert
// notified again (a retry, a repeat) has the same id.
func alertID(fingerprint, status string, startsAt time.Time) string {
	h := sha256.New()
	for _, s := range []string{"alertmanager", fingerprint, status, startsAt.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "am-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// LabelsFingerprint is Alertmanager's own fingerprint of a label set (the
// one its webhooks carry). It stands in for a missing fingerprint, so the
// same alert gets the same id whichever way it arrived; the demo's
// simulated monitoring sends it too.
func LabelsFingerprint(labels map[string]string) string {
	ls := make(model.LabelSet, len(labels))
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.Fingerprint().String()
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// truncateValue cuts s to at most n bytes at a UTF-8 boundary.
func truncateValue(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const marker = "...[truncated]"
	cut := n - len(marker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "") + marker
}

// handleAlertmanager serves POST /v1/alerts/alertmanager. Like /v1/events,
// valid alerts are published even when others are refused, and 200 means
// every accepted alert is in Kafka; 503 asks Alertmanager to retry, which
// it does for 5xx answers.
func (r *Receiver) handleAlertmanager(w http.ResponseWriter, req *http.Request) {
	now := r.now()
	r.handleJSON(w, req, "alertmanager", "alerts", func(body []byte) ([]telemetry.Event, error) {
		return ParseAlertmanager(body, now)
	}, nil)
}
