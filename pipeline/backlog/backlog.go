// Package backlog writes ranked backlog items (findings.Item) for the
// trackers teams use: Markdown, GitHub issues (payloads, and creation
// through the REST API that is idempotent thanks to a fingerprint in each
// body), and a Jira CSV import file.
package backlog

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/steadystate/steadystate/pipeline/findings"
)

// Label is put on every issue Steadystate creates, so its issues can be
// listed and told apart.
const Label = "steadystate"

// Markdown lists the items, ranked, with their descriptions.
func Markdown(experimentID string, items []findings.Item) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Backlog from game day %s\n\n", experimentID)
	if len(items) == 0 {
		b.WriteString("Nothing to do: the run produced no findings that need work.\n")
		return b.String()
	}
	b.WriteString("Ranked by risk: bad minutes per user if the failure happened in production as in the game day.\n\n")
	b.WriteString("| rank | item | severity | owner | bad min/user | error budget |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, it := range items {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s |\n", it.Rank, cell(it.Title), it.Severity, cell(orDash(it.Owner)),
			num(it.Risk.BadMinutesPerUser), findings.Pct(it.Risk.BudgetShare))
	}
	for _, it := range items {
		fmt.Fprintf(&b, "\n## %d. %s\n\n", it.Rank, it.Title)
		fmt.Fprintf(&b, "Severity **%s** · owner %s · labels %s · fingerprint `%s`\n\n", it.Severity, orDash(it.Owner), strings.Join(it.Labels, ", "), it.Fingerprint)
		b.WriteString(it.Description)
	}
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func num(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

// Issue is a GitHub "create an issue" request body.
type Issue struct {
	Title  string   `json:"title"`
	Body   string   `json:"body"`
	Labels []string `json:"labels"`
}

// FingerprintMarker is the hidden line in an issue body that identifies
// the item it was created from.
func FingerprintMarker(fp string) string { return "<!-- steadystate-fingerprint: " + fp + " -->" }

// GitHubIssues builds one issue per item. The body ends with the
// fingerprint, visible and as a hidden marker, so a later run finds it.
func GitHubIssues(items []findings.Item) []Issue {
	out := make([]Issue, 0, len(items))
	for _, it := range items {
		var b strings.Builder
		b.WriteString(it.Description)
		if it.Owner != "" {
			fmt.Fprintf(&b, "\nSuggested owner: %s\n", it.Owner)
		}
		fmt.Fprintf(&b, "\nRank %d in the game day's backlog · severity %s · fingerprint `%s`\n\n%s\n", it.Rank, it.Severity, it.Fingerprint, FingerprintMarker(it.Fingerprint))
		labels := append([]string{Label}, it.Labels...)
		out = append(out, Issue{Title: it.Title, Body: b.String(), Labels: labels})
	}
	return out
}

// JiraPriority maps a severity to Jira's default priorities.
func JiraPriority(s findings.Severity) string {
	switch s {
	case findings.Critical:
		return "Highest"
	case findings.High:
		return "High"
	case findings.Medium:
		return "Medium"
	case findings.Low:
		return "Low"
	}
	return "Lowest"
}

// JiraCSV is a CSV file for Jira's CSV importer: Summary, Issue Type,
// Priority, Description (line endings as LF), one Labels column per label (Jira's way of
// importing several), and Fingerprint. Fields are quoted as RFC 4180 says
// (commas, quotes and newlines in descriptions survive); labels cannot
// hold spaces in Jira, so spaces become dashes.
func JiraCSV(items []findings.Item) ([]byte, error) {
	maxLabels := 1
	for _, it := range items {
		maxLabels = max(maxLabels, len(it.Labels)+1)
	}
	header := []string{"Summary", "Issue Type", "Priority", "Description"}
	for i := 0; i < maxLabels; i++ {
		header = append(header, "Labels")
	}
	header = append(header, "Fingerprint")
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(header); err != nil {
		return nil, fmt.Errorf("jira csv header: %w", err)
	}
	for _, it := range items {
		// One line ending: CSV readers turn CRLF inside a field into LF.
		desc := strings.ReplaceAll(it.Description, "\r\n", "\n")
		if it.Owner != "" {
			desc += "\nSuggested owner: " + it.Owner + "\n"
		}
		row := []string{it.Title, "Task", JiraPriority(it.Severity), desc}
		labels := append([]string{Label}, it.Labels...)
		for i := 0; i < maxLabels; i++ {
			l := ""
			if i < len(labels) {
				l = strings.ReplaceAll(labels[i], " ", "-")
			}
			row = append(row, l)
		}
		row = append(row, it.Fingerprint)
		if err := w.Write(row); err != nil {
			return nil, fmt.Errorf("jira csv item %d: %w", it.Rank, err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("jira csv: %w", err)
	}
	return buf.Bytes(), nil
}

// Formats are the output formats of Write.
var Formats = []string{"md", "github", "jira"}

// Options are what `analyze backlog` asks for: the format and, with
// Create, the GitHub repository to create the issues in.
type Options struct {
	// Format is one of Formats.
	Format string
	// Create creates the GitHub issues (Sync) instead of printing their
	// payloads; it needs the github format, Repo and Token.
	Create bool
	// Repo is "owner/name"; GitHubAPI the API base URL (GitHub.BaseURL).
	Repo, GitHubAPI string
	// Token is a token with issues:write ($GITHUB_TOKEN).
	Token string
}

// Check checks the flags: Format is one of Formats; Create (creating the
// GitHub issues) needs format github, a repository owner/name and a token.
func (o Options) Check() error {
	if !slices.Contains(Formats, o.Format) {
		return fmt.Errorf("--format %q: want md, github or jira", o.Format)
	}
	if !o.Create {
		return nil
	}
	if o.Format != "github" {
		return errors.New("--create works with --format github")
	}
	if err := ValidateRepo(o.Repo); err != nil {
		return fmt.Errorf("--repo: %w", err)
	}
	if o.Token == "" {
		return errors.New("--create needs a token in $GITHUB_TOKEN")
	}
	return nil
}

// WriteOptions are the options of Write for the experiment's items: with
// Create, the GitHub repository to sync, each action logged on log.
func (o Options) WriteOptions(experimentID string, log io.Writer) WriteOptions {
	wo := WriteOptions{Format: o.Format, ExperimentID: experimentID, Log: log}
	if o.Create {
		wo.GitHub = &GitHub{BaseURL: o.GitHubAPI, Token: o.Token, Repo: o.Repo}
	}
	return wo
}

// WriteOptions say how Write writes the items.
type WriteOptions struct {
	// Format is md, github or jira.
	Format string
	// ExperimentID titles the Markdown.
	ExperimentID string
	// GitHub, when set with the github format, creates the issues (Sync)
	// instead of printing their payloads; each action is logged on Log.
	GitHub *GitHub
	Log    io.Writer
}

// Write writes items in the chosen format: Markdown, Jira CSV, or the
// GitHub issue payloads as indented JSON (with GitHub set, the issues are
// synced and the results written instead).
func Write(ctx context.Context, w io.Writer, items []findings.Item, o WriteOptions) error {
	switch o.Format {
	case "jira":
		data, err := JiraCSV(items)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	case "github":
		issues := GitHubIssues(items)
		if o.GitHub == nil {
			return writeIndentedJSON(w, issues)
		}
		res, err := o.GitHub.Sync(ctx, issues)
		for _, r := range res {
			fmt.Fprintf(o.Log, "%-7s #%d %s\n", r.Action, r.Number, r.Title)
		}
		if err != nil {
			return err
		}
		return writeIndentedJSON(w, res)
	case "md", "":
		_, err := fmt.Fprint(w, Markdown(o.ExperimentID, items))
		return err
	default:
		return fmt.Errorf("backlog format %q: want md, github or jira", o.Format)
	}
}

func writeIndentedJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
