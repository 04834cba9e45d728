package findings

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Statuses of a backlog item across runs (History).
const (
	// StatusNew: found in this run and in no earlier run of the history.
	StatusNew = "new"
	// StatusRecurring: found in this run and in an earlier one.
	StatusRecurring = "recurring"
	// StatusFixed: found earlier, absent in this run although the run
	// exercised the same SLI, flow or alert.
	StatusFixed = "fixed"
	// StatusNotExercised: found earlier, absent in this run, but the run
	// did not exercise its subject (no data for the SLI, no items of the
	// flow), so it says nothing about a fix.
	StatusNotExercised = "not_exercised"
)

// History is an experiment's runs side by side, oldest first, with each
// backlog item (by fingerprint) marked per run.
type History struct {
	Runs  []RunSummary  `json:"runs"`
	Items []HistoryItem `json:"items"`
}

// RunSummary is one run of the history.
type RunSummary struct {
	RunID   string    `json:"run_id,omitempty"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Verdict string    `json:"verdict"`
	// SLIs are the key SLI values per cohort.
	SLIs []HistorySLI `json:"slis"`
	// Findings are the titles of the run's findings, most severe first.
	Findings []string `json:"findings"`
}

// HistorySLI is one SLI of one run.
type HistorySLI struct {
	Name       string  `json:"name"`
	Unit       string  `json:"unit"`
	Control    float64 `json:"control"`
	Experiment float64 `json:"experiment"`
	Verdict    string  `json:"verdict"`
}

// HistoryItem is one backlog fingerprint across the runs.
type HistoryItem struct {
	Fingerprint string `json:"fingerprint"`
	FindingID   string `json:"finding_id"`
	// Title is the newest title the item had.
	Title string `json:"title"`
	// Status has one entry per run (same order as History.Runs): new,
	// recurring, fixed, not_exercised, or "" before it was first found.
	Status []string `json:"status"`
}

// Latest is the item's status in the newest run.
func (h HistoryItem) Latest() string {
	if len(h.Status) == 0 {
		return ""
	}
	return h.Status[len(h.Status)-1]
}

// RunAnalysis is one run's input and analysis, for BuildHistory.
type RunAnalysis struct {
	Input  Input
	Result Result
}

// BuildHistory sets runs (oldest first) side by side. An item found in a
// run is new the first time and recurring after; an item found earlier
// and absent is fixed when the run exercised its subject (the SLIs of an
// SLI finding had events in both cohorts, the flow had items, the alert
// was expected), else not_exercised.
func BuildHistory(runs []RunAnalysis) *History {
	h := &History{Runs: []RunSummary{}, Items: []HistoryItem{}}
	index := map[string]int{}
	for i, ra := range runs {
		in, res := ra.Input, ra.Result
		rs := RunSummary{RunID: in.Run.ID, Start: in.Run.Start, End: in.Run.End, Verdict: in.Verdict, SLIs: []HistorySLI{}, Findings: []string{}}
		for _, s := range in.SLIs {
			rs.SLIs = append(rs.SLIs, HistorySLI{Name: s.Name, Unit: s.Unit, Control: s.Control.Value, Experiment: s.Experiment.Value, Verdict: s.Verdict})
		}
		for _, f := range res.Findings {
			rs.Findings = append(rs.Findings, f.Title)
		}
		h.Runs = append(h.Runs, rs)
		found := map[string]bool{}
		for _, it := range res.Backlog {
			found[it.Fingerprint] = true
			k, ok := index[it.Fingerprint]
			if !ok {
				k = len(h.Items)
				index[it.Fingerprint] = k
				h.Items = append(h.Items, HistoryItem{Fingerprint: it.Fingerprint, FindingID: it.FindingID, Status: make([]string, i, len(runs))})
			}
			h.Items[k].Title = it.Title
		}
		for k := range h.Items {
			item := &h.Items[k]
			switch {
			case found[item.Fingerprint] && len(item.Status) == i:
				if slices.ContainsFunc(item.Status, func(s string) bool { return s == StatusNew || s == StatusRecurring }) {
					item.Status = append(item.Status, StatusRecurring)
				} else {
					item.Status = append(item.Status, StatusNew)
				}
			case len(item.Status) == i && exercised(in, item.FindingID):
				item.Status = append(item.Status, StatusFixed)
			case len(item.Status) == i:
				item.Status = append(item.Status, StatusNotExercised)
			}
		}
	}
	return h
}

// exercised tells whether a run gave its finding's subject a chance to
// show up again.
func exercised(in Input, findingID string) bool {
	kind, subject, _ := strings.Cut(findingID, ":")
	switch kind {
	case KindSLIRegression:
		for _, name := range strings.Split(subject, ",") {
			for _, s := range in.SLIs {
				if s.Name == name && s.Control.N > 0 && s.Experiment.N > 0 {
					return true
				}
			}
		}
		return false
	case KindFlowStuck:
		flow, _, _ := strings.Cut(subject, ":") // flow:stage
		for _, fl := range in.Flows {
			if fl.Name == flow {
				for _, c := range fl.Cohorts {
					if c.Items > 0 {
						return true
					}
				}
			}
		}
		return false
	case KindAlertMissing, KindAlertLate:
		for _, a := range in.ExpectedAlerts {
			if a.Name == subject {
				return in.Cohorts.Experiment > 0
			}
		}
		return false
	default:
		return in.Cohorts.Experiment > 0 && in.Cohorts.Control > 0
	}
}

// WriteHistory prints the history as two aligned tables: the runs side by
// side (verdict, key SLI values, findings) and each backlog item's status
// per run.
func WriteHistory(w io.Writer, h *History) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	head := []string{"RUN"}
	for _, r := range h.Runs {
		head = append(head, orID(r))
	}
	row(head...)
	cells := []string{"started"}
	for _, r := range h.Runs {
		cells = append(cells, r.Start.UTC().Format("2006-01-02 15:04"))
	}
	row(cells...)
	cells = []string{"verdict"}
	for _, r := range h.Runs {
		cells = append(cells, strings.ToUpper(orDashStr(r.Verdict)))
	}
	row(cells...)
	var names []string
	for _, r := range h.Runs {
		for _, s := range r.SLIs {
			if !slices.Contains(names, s.Name) {
				names = append(names, s.Name)
			}
		}
	}
	for _, n := range names {
		cells = []string{n + " exp/ctl"}
		for _, r := range h.Runs {
			c := "-"
			for _, s := range r.SLIs {
				if s.Name == n {
					c = FormatValue(s.Unit, s.Experiment) + " / " + FormatValue(s.Unit, s.Control)
				}
			}
			cells = append(cells, c)
		}
		row(cells...)
	}
	cells = []string{"findings"}
	for _, r := range h.Runs {
		cells = append(cells, fmt.Sprint(len(r.Findings)))
	}
	row(cells...)
	if len(h.Items) > 0 {
		row()
		row(append([]string{"BACKLOG ITEM", "FINGERPRINT"}, head[1:]...)...)
		for _, it := range h.Items {
			cells = []string{it.Title, it.Fingerprint}
			for _, st := range it.Status {
				cells = append(cells, orDashStr(strings.ReplaceAll(st, "_", " ")))
			}
			row(cells...)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

func orID(r RunSummary) string {
	if r.RunID != "" {
		return r.RunID
	}
	return r.Start.UTC().Format("2006-01-02T15:04")
}

func orDashStr(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
