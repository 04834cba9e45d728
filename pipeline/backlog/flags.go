package backlog

import "github.com/spf13/pflag"

// AddFlags registers `analyze backlog`'s --format, --create, --repo and
// --github-api (Token comes from $GITHUB_TOKEN, never a flag).
func (o *Options) AddFlags(fl *pflag.FlagSet) {
	fl.StringVar(&o.Format, "format", "md", "md, github or jira")
	fl.BoolVar(&o.Create, "create", false, "create the GitHub issues (default: dry run, print the payloads)")
	fl.StringVar(&o.Repo, "repo", "", "GitHub repository owner/name for --create")
	fl.StringVar(&o.GitHubAPI, "github-api", DefaultGitHubAPI, "GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3)")
}
