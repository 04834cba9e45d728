package flows

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/steadystate/steadystate/pipeline/notify"
)

// Alert names.
const (
	// AlertItemsStuck: real items of a flow are stuck after a stage.
	AlertItemsStuck = "FlowItemsStuck"
	// AlertBroken: synthetic items of a flow are stuck: it is broken even
	// if no real item shows it.
	AlertBroken = "FlowBroken"
	// AlertAbsent: the flow's absence rule holds.
	AlertAbsent = "FlowAbsent"
	// AlertPipelineStalled and AlertPipelineLagging: the pipeline finding.
	AlertPipelineStalled = "PipelineStalled"
	AlertPipelineLagging = "PipelineLagging"
)

// AlertSettings shape the alerts built from a report.
type AlertSettings struct {
	// GeneratorURL is the base of each alert's generatorURL; the flow is
	// added as ?flow=NAME. Empty leaves generatorURL out.
	GeneratorURL string
	// MaxKeys caps the item keys listed in a description. Default: 10.
	MaxKeys int
	// PipelineSeverity labels the pipeline alerts. Default: ticket.
	PipelineSeverity string
}

// Alerts returns the alerts a report raises, each with the stable labels
// alertname, flow, stage, severity and experiment ("none" outside any
// experiment) and the annotations summary, description and runbook_url:
//
//   - FlowItemsStuck, one per flow, stage (the last stage reached) and
//     experiment, for real stuck items;
//   - FlowBroken, the same for synthetic stuck items;
//   - FlowAbsent when the absence rule holds (stage: the first stage, or
//     the last for synthetic_only);
//   - PipelineStalled or PipelineLagging (labels alertname, severity,
//     consumer_group) for the pipeline finding.
func Alerts(rep *Report, set AlertSettings) []notify.Alert {
	if set.MaxKeys <= 0 {
		set.MaxKeys = 10
	}
	if set.PipelineSeverity == "" {
		set.PipelineSeverity = "ticket"
	}
	now := rep.GeneratedAt
	var out []notify.Alert
	for fi := range rep.Flows {
		f := &rep.Flows[fi]
		gen := generatorURL(set.GeneratorURL, f.Flow)
		type group struct {
			synthetic  bool
			stage, exp string
		}
		groups := map[group][]*StuckItem{}
		var order []group
		for i := range f.Stuck {
			it := &f.Stuck[i]
			exp := it.ExperimentID
			if exp == "" {
				exp = "none"
			}
			g := group{it.Synthetic, it.LastStage, exp}
			if _, ok := groups[g]; !ok {
				order = append(order, g)
			}
			groups[g] = append(groups[g], it)
		}
		for _, g := range order {
			items := groups[g]
			name, kind := AlertItemsStuck, "items"
			if g.synthetic {
				name, kind = AlertBroken, "synthetic items"
			}
			next := items[0].StuckAt
			summary := fmt.Sprintf("%d %s %s stuck after %s", len(items), f.Flow, kind, g.stage)
			var keys []string
			for i, it := range items {
				if i == set.MaxKeys {
					keys = append(keys, fmt.Sprintf("and %d more", len(items)-i))
					break
				}
				keys = append(keys, fmt.Sprintf("%s (stuck for %s, missing %s)", it.Key, roundDur(it.StuckForSeconds), strings.Join(it.Missing, ", ")))
			}
			desc := fmt.Sprintf("%s of flow %s reached %s but not %s within its deadline (%s window): %s.",
				capitalize(kind), f.Flow, g.stage, next, roundDur(f.WithinSeconds), strings.Join(keys, "; "))
			if g.synthetic {
				desc += " Synthetic items failing means the flow is broken, whatever real traffic shows."
			}
			out = append(out, flowAlert(f, name, g.stage, g.exp, summary, desc, gen, items[0].Deadline))
		}
		if f.Absence != nil && f.Absence.Firing {
			stage := ""
			if len(f.Stages) > 0 {
				stage = f.Stages[0]
				if f.Absence.SyntheticOnly {
					stage = f.Stages[len(f.Stages)-1]
				}
			}
			summary := fmt.Sprintf("flow %s is silent: %s", f.Flow, f.Absence.Message)
			out = append(out, flowAlert(f, AlertAbsent, stage, "none", summary, f.Reason+".", gen, time.Time{}))
		}
	}
	switch rep.Pipeline.State {
	case PipelineStalled, PipelineLagging:
		name := AlertPipelineStalled
		if rep.Pipeline.State == PipelineLagging {
			name = AlertPipelineLagging
		}
		out = append(out, notify.Alert{
			Labels: map[string]string{"alertname": name, "severity": set.PipelineSeverity, "consumer_group": rep.Pipeline.ConsumerGroup},
			Annotations: map[string]string{
				"summary":     fmt.Sprintf("ingest pipeline %s: watermark %.0fs behind", rep.Pipeline.State, rep.Pipeline.LagSeconds),
				"description": rep.Pipeline.Message,
			},
			StartsAt:     now,
			GeneratorURL: generatorURL(set.GeneratorURL, ""),
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func flowAlert(f *FlowReport, name, stage, exp, summary, desc, gen string, startsAt time.Time) notify.Alert {
	sev := f.Severity
	if sev == "" {
		sev = "ticket"
	}
	ann := map[string]string{"summary": summary, "description": desc}
	if f.RunbookURL != "" {
		ann["runbook_url"] = f.RunbookURL
	}
	if f.Owner != "" {
		ann["owner"] = f.Owner
	}
	return notify.Alert{
		Labels:      map[string]string{"alertname": name, "flow": f.Flow, "stage": stage, "severity": sev, "experiment": exp},
		Annotations: ann, StartsAt: startsAt, GeneratorURL: gen,
	}
}

func generatorURL(base, flow string) string {
	if base == "" {
		return ""
	}
	if flow == "" {
		return base
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "flow=" + url.QueryEscape(flow)
}

func roundDur(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
