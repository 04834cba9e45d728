package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Notebooks are committed without outputs: results belong to a run, not
// to the repository, and outputs make diffs unreadable.
func TestNotebooksHaveNoOutputs(t *testing.T) {
	paths, err := filepath.Glob("../../notebooks/*.ipynb")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		var nb struct {
			NBFormat int `json:"nbformat"`
			Cells    []struct {
				CellType       string            `json:"cell_type"`
				ExecutionCount *int              `json:"execution_count"`
				Outputs        []json.RawMessage `json:"outputs"`
			} `json:"cells"`
		}
		require.NoError(t, json.Unmarshal(data, &nb), p)
		assert.Equal(t, 4, nb.NBFormat, p)
		for i, c := range nb.Cells {
			if c.CellType != "code" {
				continue
			}
			assert.Empty(t, c.Outputs, "%s: cell %d has outputs; clear them before committing", p, i)
			assert.Nil(t, c.ExecutionCount, "%s: cell %d has an execution count", p, i)
		}
	}
}
