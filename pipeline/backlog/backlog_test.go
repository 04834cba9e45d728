package backlog_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/backlog"
	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/findings/findingstest"
)

func items(t *testing.T) []findings.Item {
	t.Helper()
	it := findings.Derive(findingstest.GameDay()).Backlog
	require.Len(t, it, 3)
	// A description with everything CSV must quote.
	it[0].Description += "Quote \"this\", and, commas;\nnew lines\r\nand a trailing quote\""
	return it
}

func TestMarkdown(t *testing.T) {
	md := backlog.Markdown("checkout-payment-500", items(t))
	assert.Contains(t, md, "| 1 | Unstick publish: 10 of 200 items stuck after content.transformed | high | team-content-platform | 1 | 2.31% |")
	assert.Contains(t, md, "## 3. Make alert CheckoutErrorRateHigh fire for a partial outage")
	assert.Contains(t, md, "fingerprint `"+findings.Fingerprint("checkout-payment-500", "alert_missing:CheckoutErrorRateHigh")+"`")
	assert.Contains(t, backlog.Markdown("x", nil), "Nothing to do")
}

func TestJiraCSVParsesWithGo(t *testing.T) {
	its := items(t)
	data, err := backlog.JiraCSV(its)
	require.NoError(t, err)
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 4)
	header := recs[0]
	assert.Equal(t, []string{"Summary", "Issue Type", "Priority", "Description"}, header[:4])
	assert.Equal(t, "Fingerprint", header[len(header)-1])
	for i, it := range its {
		row := recs[i+1]
		require.Len(t, row, len(header))
		assert.Equal(t, it.Title, row[0])
		assert.Equal(t, it.Fingerprint, row[len(row)-1])
		desc := strings.ReplaceAll(it.Description, "\r\n", "\n")
		if it.Owner != "" {
			desc += "\nSuggested owner: " + it.Owner + "\n"
		}
		assert.Equal(t, desc, row[3], "description survives quoting")
	}
	assert.Equal(t, "High", recs[1][2])
	assert.Equal(t, "Highest", recs[2][2], "the critical regression")
	assert.Contains(t, recs[1][3], "Quote \"this\", and, commas;\nnew lines\nand a trailing quote\"")
	assert.Equal(t, "steadystate", recs[1][4])
}

// fakeGitHub is an in-memory GitHub issues API: list (paginated, 2 per
// page, filtered by label) and create.
type fakeGitHub struct {
	mu      sync.Mutex
	issues  []map[string]any
	creates int
	token   string
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Bad credentials"}`))
		return
	}
	if r.URL.Path != "/repos/acme/shop/issues" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"Not Found"}`))
		return
	}
	switch r.Method {
	case http.MethodGet:
		var match []map[string]any
		for _, is := range f.issues {
			for _, l := range is["labels"].([]any) {
				if l.(map[string]any)["name"] == r.URL.Query().Get("labels") {
					match = append(match, is)
				}
			}
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		lo, hi := (page-1)*2, min(page*2, len(match))
		if hi < len(match) {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s/repos/acme/shop/issues?labels=steadystate&page=%d&state=all>; rel="next"`, r.Host, page+1))
		}
		if lo > len(match) {
			lo = len(match)
		}
		_ = json.NewEncoder(w).Encode(match[lo:hi])
	case http.MethodPost:
		var in backlog.Issue
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Title == "" {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		f.creates++
		labels := []any{}
		for _, l := range in.Labels {
			labels = append(labels, map[string]any{"name": l})
		}
		n := len(f.issues) + 1
		is := map[string]any{"number": n, "title": in.Title, "body": in.Body, "labels": labels, "html_url": fmt.Sprintf("https://github.example/acme/shop/issues/%d", n)}
		f.issues = append(f.issues, is)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(is)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func TestGitHubSyncIsIdempotent(t *testing.T) {
	fake := &fakeGitHub{token: "t0k"}
	// An unrelated issue with the label but no fingerprint.
	fake.issues = append(fake.issues, map[string]any{"number": 1, "title": "other", "body": "hand-written", "labels": []any{map[string]any{"name": "steadystate"}}})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	gh := &backlog.GitHub{BaseURL: srv.URL, Token: "t0k", Repo: "acme/shop"}
	issues := backlog.GitHubIssues(items(t))
	for _, is := range issues {
		assert.Contains(t, is.Labels, "steadystate")
		assert.Contains(t, is.Body, "<!-- steadystate-fingerprint: steadystate-")
	}

	first, err := gh.Sync(context.Background(), issues)
	require.NoError(t, err)
	require.Len(t, first, 3)
	for _, r := range first {
		assert.Equal(t, "created", r.Action)
	}
	assert.Equal(t, 3, fake.creates)

	// The second run (pages of two: the fingerprints are on page 2) finds
	// every issue and creates nothing.
	second, err := gh.Sync(context.Background(), issues)
	require.NoError(t, err)
	for i, r := range second {
		assert.Equal(t, "exists", r.Action)
		assert.Equal(t, first[i].Number, r.Number)
	}
	assert.Equal(t, 3, fake.creates, "a second run creates nothing new")

	// A new finding later: only it is created.
	more := slices.Concat(issues, backlog.GitHubIssues([]findings.Item{{Rank: 4, Title: "New", Fingerprint: "steadystate-00ff", Severity: findings.Low}}))
	third, err := gh.Sync(context.Background(), more)
	require.NoError(t, err)
	assert.Equal(t, "created", third[3].Action)
	assert.Equal(t, 4, fake.creates)
}

func TestGitHubErrors(t *testing.T) {
	srv := httptest.NewServer(&fakeGitHub{token: "right"})
	defer srv.Close()
	_, err := (&backlog.GitHub{BaseURL: srv.URL, Token: "wrong", Repo: "acme/shop"}).Sync(context.Background(), nil)
	require.EqualError(t, err, "github: list issues of acme/shop: GET /repos/acme/shop/issues: HTTP 401: Bad credentials")
	_, err = (&backlog.GitHub{BaseURL: srv.URL, Repo: "acme/shop"}).Sync(context.Background(), nil)
	require.ErrorContains(t, err, "set GITHUB_TOKEN")
	_, err = (&backlog.GitHub{BaseURL: srv.URL, Token: "x", Repo: "acme"}).Sync(context.Background(), nil)
	require.EqualError(t, err, `repository "acme": want owner/name`)
}

func TestWriteEachFormat(t *testing.T) {
	it := items(t)
	ctx := context.Background()
	var md, jira, gh bytes.Buffer
	require.NoError(t, backlog.Write(ctx, &md, it, backlog.WriteOptions{Format: "md", ExperimentID: "checkout-payment-500"}))
	assert.Equal(t, backlog.Markdown("checkout-payment-500", it), md.String())
	require.NoError(t, backlog.Write(ctx, &jira, it, backlog.WriteOptions{Format: "jira"}))
	want, err := backlog.JiraCSV(it)
	require.NoError(t, err)
	assert.Equal(t, string(want), jira.String())
	require.NoError(t, backlog.Write(ctx, &gh, it, backlog.WriteOptions{Format: "github"}))
	var issues []backlog.Issue
	require.NoError(t, json.Unmarshal(gh.Bytes(), &issues), "a dry run prints the payloads")
	assert.Equal(t, backlog.GitHubIssues(it), issues)
	assert.Error(t, backlog.Write(ctx, &gh, it, backlog.WriteOptions{Format: "xml"}))
}

func TestOptionsCheck(t *testing.T) {
	for _, tt := range []struct {
		name, format, repo, token, wantErr string
		create                             bool
	}{
		{name: "md", format: "md"},
		{name: "dry run needs no token", format: "github"},
		{name: "bad format", format: "pdf", wantErr: `--format "pdf": want md, github or jira`},
		{name: "create needs github", format: "jira", create: true, repo: "a/b", token: "t", wantErr: "--create works with --format github"},
		{name: "create needs repo", format: "github", create: true, token: "t", wantErr: `--repo: repository "": want owner/name`},
		{name: "create needs token", format: "github", create: true, repo: "a/b", wantErr: "--create needs a token in $GITHUB_TOKEN"},
		{name: "create", format: "github", create: true, repo: "a/b", token: "t"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := backlog.Options{Format: tt.format, Create: tt.create, Repo: tt.repo, Token: tt.token}.Check()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantErr)
		})
	}
}

// Without --create the github format is a dry run (the payloads); with it
// Write syncs the repository with the token.
func TestOptionsWriteOptions(t *testing.T) {
	var log bytes.Buffer
	dry := backlog.Options{Format: "github", Repo: "a/b", Token: "t"}.WriteOptions("exp-1", &log)
	assert.Equal(t, backlog.WriteOptions{Format: "github", ExperimentID: "exp-1", Log: &log}, dry)
	create := backlog.Options{Format: "github", Create: true, Repo: "a/b", GitHubAPI: "https://ghe/api/v3", Token: "t"}.WriteOptions("exp-1", &log)
	assert.Equal(t, &backlog.GitHub{BaseURL: "https://ghe/api/v3", Token: "t", Repo: "a/b"}, create.GitHub)
}
