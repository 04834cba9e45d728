//go:build integration

package backlog_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/backlog"
)

// The Jira CSV parses with Python's csv module too, to the same fields.
func TestJiraCSVParsesWithPython(t *testing.T) {
	its := items(t)
	data, err := backlog.JiraCSV(its)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "backlog.csv")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	py := os.Getenv("PYTHON")
	if py == "" {
		py = "python3"
	}
	out, err := exec.Command(py, "-c", `
import csv, json, sys
with open(sys.argv[1], newline="") as f:
    print(json.dumps(list(csv.reader(f))))`, path).Output()
	require.NoError(t, err)
	var rows [][]string
	require.NoError(t, json.Unmarshal(out, &rows))
	require.Len(t, rows, len(its)+1)
	assert.Equal(t, "Summary", rows[0][0])
	for i, it := range its {
		assert.Equal(t, it.Title, rows[i+1][0])
		assert.Contains(t, rows[i+1][3], strings.ReplaceAll(it.Description, "\r\n", "\n"))
		assert.Equal(t, it.Fingerprint, rows[i+1][len(rows[i+1])-1])
	}
}
