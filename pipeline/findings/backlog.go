package findings

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Item is one backlog item: a finding turned into work, ranked by risk.
type Item struct {
	// Rank is 1 for the most urgent item.
	Rank int `json:"rank"`
	// Fingerprint identifies the item across runs and trackers: the same
	// experiment and finding give the same fingerprint, so creating issues
	// twice finds the first one instead of opening another.
	Fingerprint string   `json:"fingerprint"`
	FindingID   string   `json:"finding_id"`
	Severity    Severity `json:"severity"`
	Title       string   `json:"title"`
	// Description is Markdown: what happened, the evidence, what to do.
	Description string   `json:"description"`
	Owner       string   `json:"owner,omitempty"`
	Labels      []string `json:"labels"`
	Risk        Risk     `json:"risk"`
}

// Fingerprint is the stable id of a finding of an experiment.
func Fingerprint(experimentID, findingID string) string {
	sum := sha256.Sum256([]byte(experimentID + "\x00" + findingID))
	return "steadystate-" + hex.EncodeToString(sum[:8])
}

// Backlog turns the findings that carry a risk estimate into items,
// ranked by bad minutes per user, then severity, then finding id (so the
// order is total and reproducible).
func Backlog(exp Experiment, findings []Finding) []Item {
	var items []Item
	for _, f := range findings {
		if f.Risk == nil {
			continue
		}
		labels := append([]string{"severity:" + string(f.Severity)}, f.Labels...)
		slices.Sort(labels)
		items = append(items, Item{
			Fingerprint: Fingerprint(exp.ID, f.ID),
			FindingID:   f.ID,
			Severity:    f.Severity,
			Title:       actionTitle(f),
			Description: description(exp, f),
			Owner:       f.Owner,
			Labels:      slices.Compact(labels),
			Risk:        *f.Risk,
		})
	}
	slices.SortStableFunc(items, func(a, b Item) int {
		return cmp.Or(cmp.Compare(b.Risk.BadMinutesPerUser, a.Risk.BadMinutesPerUser),
			cmp.Compare(a.Severity.Rank(), b.Severity.Rank()), cmp.Compare(a.FindingID, b.FindingID))
	})
	for i := range items {
		items[i].Rank = i + 1
	}
	return items
}

// actionTitle phrases a finding as the work it asks for.
func actionTitle(f Finding) string {
	subject := f.ID[strings.IndexByte(f.ID, ':')+1:]
	switch f.Kind {
	case KindSLIRegression:
		return "Degrade gracefully: " + lowerFirst(f.Title)
	case KindAlertMissing:
		return fmt.Sprintf("Make alert %s fire for a partial outage (it never fired during the game day)", subject)
	case KindAlertLate:
		return fmt.Sprintf("Make alert %s fire sooner", subject)
	case KindFlowStuck:
		return fmt.Sprintf("Unstick %s", strings.TrimPrefix(f.Title, "Flow "))
	case KindBlastRadius:
		return "Contain the failure to the experiment cohort: " + f.Title
	case KindSRM:
		return "Fix the cohort assignment: " + f.Title
	}
	return f.Title
}

// lowerFirst lowers the first letter of a sentence placed after a colon;
// identifiers such as SLI names are lower case already.
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

func description(exp Experiment, f Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Found by the game day **%s**", exp.ID)
	if exp.Title != "" {
		fmt.Fprintf(&b, " (%s)", exp.Title)
	}
	b.WriteString(".\n\n")
	b.WriteString(f.Summary)
	b.WriteString("\n\n**Evidence**\n\n")
	for _, e := range f.Evidence {
		fmt.Fprintf(&b, "- %s\n", e)
	}
	if f.Query != "" || f.Chart != "" {
		b.WriteString("\n")
		if f.Chart != "" {
			fmt.Fprintf(&b, "Chart: `%s` in the run report. ", f.Chart)
		}
		if f.Query != "" {
			fmt.Fprintf(&b, "Query: `queries/%s`.", f.Query)
		}
		b.WriteString("\n")
	}
	if f.Risk != nil {
		fmt.Fprintf(&b, "\n**Risk**: about %s bad minutes per user each time this happens for as long as the game day lasted (impact %s x %s x %s of users affected), %s of a 30-day error budget.\n",
			trimFloat(f.Risk.BadMinutesPerUser, 3), pct(f.Risk.Impact), fmtDuration(minutes(f.Risk.DurationMin)), pct(f.Risk.AffectedShare), pct(f.Risk.BudgetShare))
	}
	return b.String()
}
