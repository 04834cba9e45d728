package backlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultGitHubAPI is the GitHub REST API's base URL.
const DefaultGitHubAPI = "https://api.github.com"

// GitHub creates backlog issues in one repository through the REST API.
type GitHub struct {
	// BaseURL of the API; "" means DefaultGitHubAPI (GitHub Enterprise:
	// https://HOST/api/v3).
	BaseURL string
	// Token is a token with issues:write on the repository.
	Token string
	// Repo is "owner/name".
	Repo string
	HTTP *http.Client
}

var repoRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// ValidateRepo checks an "owner/name" repository argument.
func ValidateRepo(repo string) error {
	if !repoRE.MatchString(repo) {
		return fmt.Errorf("repository %q: want owner/name", repo)
	}
	return nil
}

// SyncResult says what happened to one issue.
type SyncResult struct {
	Title       string `json:"title"`
	Fingerprint string `json:"fingerprint"`
	// Action is "created" or "exists".
	Action string `json:"action"`
	Number int    `json:"number"`
	URL    string `json:"url"`
}

type ghIssue struct {
	Number  int    `json:"number"`
	HTMLURL string `json:"html_url"`
	Body    string `json:"body"`
	Title   string `json:"title"`
}

var fpRE = regexp.MustCompile(`<!-- steadystate-fingerprint: (steadystate-[0-9a-f]+) -->`)

// Sync creates the issues whose fingerprint is not on an issue of the
// repository yet (open or closed, labelled steadystate), so running it
// twice creates nothing the second time. It lists the repository's issues
// rather than using the search API, whose index lags behind creation.
func (g *GitHub) Sync(ctx context.Context, issues []Issue) ([]SyncResult, error) {
	if err := ValidateRepo(g.Repo); err != nil {
		return nil, err
	}
	if g.Token == "" {
		return nil, errors.New("github: no token: set GITHUB_TOKEN to a token that may write issues")
	}
	existing, err := g.existing(ctx)
	if err != nil {
		return nil, err
	}
	var out []SyncResult
	for _, is := range issues {
		m := fpRE.FindStringSubmatch(is.Body)
		if m == nil {
			return out, fmt.Errorf("github: issue %q has no fingerprint marker", is.Title)
		}
		fp := m[1]
		if ex, ok := existing[fp]; ok {
			out = append(out, SyncResult{Title: is.Title, Fingerprint: fp, Action: "exists", Number: ex.Number, URL: ex.HTMLURL})
			continue
		}
		var created ghIssue
		if err := g.do(ctx, http.MethodPost, "/repos/"+g.Repo+"/issues", is, &created); err != nil {
			return out, fmt.Errorf("github: create issue %q: %w", is.Title, err)
		}
		existing[fp] = created
		out = append(out, SyncResult{Title: is.Title, Fingerprint: fp, Action: "created", Number: created.Number, URL: created.HTMLURL})
	}
	return out, nil
}

// existing maps fingerprints to the repository's issues that carry them.
func (g *GitHub) existing(ctx context.Context) (map[string]ghIssue, error) {
	out := map[string]ghIssue{}
	path := "/repos/" + g.Repo + "/issues?" + url.Values{"state": {"all"}, "labels": {Label}, "per_page": {"100"}}.Encode()
	for page := 0; path != "" && page < 100; page++ {
		var issues []ghIssue
		next, err := g.get(ctx, path, &issues)
		if err != nil {
			return nil, fmt.Errorf("github: list issues of %s: %w", g.Repo, err)
		}
		for _, is := range issues {
			for _, m := range fpRE.FindAllStringSubmatch(is.Body, -1) {
				out[m[1]] = is
			}
		}
		path = next
	}
	return out, nil
}

func (g *GitHub) base() string {
	if g.BaseURL == "" {
		return DefaultGitHubAPI
	}
	return strings.TrimRight(g.BaseURL, "/")
}

func (g *GitHub) client() *http.Client {
	if g.HTTP != nil {
		return g.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// get fetches a page and returns the path of the next one ("" if none).
func (g *GitHub) get(ctx context.Context, path string, v any) (string, error) {
	resp, err := g.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if err := decode(resp, v); err != nil {
		return "", err
	}
	return nextLink(resp.Header.Get("Link"), g.base()), nil
}

func (g *GitHub) do(ctx context.Context, method, path string, body, v any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	resp, err := g.request(ctx, method, path, data)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp, v)
}

func (g *GitHub) request(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	target := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		target = g.base() + path
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Authorization", "Bearer "+g.Token)
	req.Header.Set("User-Agent", "steadystate-analyze")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return resp, nil
}

func decode(resp *http.Response, v any) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		msg := e.Message
		if msg == "" {
			msg = strings.TrimSpace(string(data))
		}
		return fmt.Errorf("%s %s: HTTP %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, msg)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", resp.Request.URL.Path, err)
	}
	return nil
}

var linkNextRE = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

// nextLink returns the rel="next" URL of a Link header if it points at the
// same API, else "".
func nextLink(h, base string) string {
	m := linkNextRE.FindStringSubmatch(h)
	if m == nil || !strings.HasPrefix(m[1], base) {
		return ""
	}
	return m[1]
}
