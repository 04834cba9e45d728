package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/backlog"
	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/findings/findingstest"
)

func TestBacklogFlags(t *testing.T) {
	tests := []struct {
		name, token, wantErr string
		args                 []string
	}{
		{name: "defaults", args: []string{"x"}},
		{name: "bad format", args: []string{"x", "--format", "pdf"}, wantErr: `--format "pdf": want md, github or jira`},
		{name: "create needs github", args: []string{"x", "--format", "jira", "--create", "--repo", "a/b"}, wantErr: "--create works with --format github"},
		{name: "create needs repo", args: []string{"x", "--format", "github", "--create"}, wantErr: `--repo: repository "": want owner/name`},
		{name: "create needs token", args: []string{"x", "--format", "github", "--create", "--repo", "a/b"}, wantErr: "$GITHUB_TOKEN"},
		{name: "create", token: "t", args: []string{"x", "--format", "github", "--create", "--repo", "a/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GITHUB_TOKEN", tt.token)
			ios, _, _, _ := cliutil.Test()
			var got *backlogOptions
			cmd := newCmdBacklog(&factory{IO: ios}, func(o *backlogOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			err := cmd.Execute()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Equal(t, cliutil.ExitUsage, cliutil.Code(err))
				return
			}
			require.NoError(t, err)
			require.NotNil(t, got)
			assert.Equal(t, "x", got.Experiment)
		})
	}
}

// The flags reach backlog.Write: each --format writes its format.
func TestWriteBacklogFormats(t *testing.T) {
	items := findings.Derive(findingstest.GameDay()).Backlog
	for _, format := range []string{"md", "github", "jira"} {
		ios, _, out, _ := cliutil.Test()
		cmd := newCmdBacklog(&factory{IO: ios}, func(o *backlogOptions) error {
			return backlog.Write(context.Background(), o.f.IO.Out, items, o.WriteOptions(o.Experiment, o.f.IO.ErrOut))
		})
		cmd.SetArgs([]string{"checkout-payment-500", "--format", format})
		require.NoError(t, cmd.Execute())
		switch format {
		case "md":
			assert.Contains(t, out.String(), "# Backlog from game day checkout-payment-500")
		case "github":
			var issues []backlog.Issue
			require.NoError(t, json.Unmarshal(out.Bytes(), &issues), "dry run prints the payloads")
			require.Len(t, issues, len(items))
			assert.Equal(t, items[0].Title, issues[0].Title)
		case "jira":
			assert.Contains(t, out.String(), "Summary,Issue Type,Priority,Description,")
		}
	}
}
