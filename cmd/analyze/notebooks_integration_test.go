//go:build integration

package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/fixture"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Every notebook executes (jupyter nbconvert --execute) on an export of a
// run this test stores: errors in any cell fail the test.
func TestNotebooksExecuteOnAnExport(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db := newTestDB(t)
	fx := fixture.DefaultOptions()
	fx.ExperimentID = "notebook-exp"
	gen := fixture.Generate(fx)
	alert := telemetry.Event{ID: "am-1", TimeNs: fx.Start.Add(3 * time.Minute).UnixNano(), IngestNs: fx.Start.Add(3 * time.Minute).UnixNano(),
		Kind: telemetry.KindAlert, Service: "payment", Name: "PaymentDependencyErrors", ExperimentID: fx.ExperimentID,
		Status: telemetry.StatusError, Severity: "ticket", AttrKeys: []string{"alert.status"}, AttrValues: []string{"firing"}}
	db.insert(ctx, t, append(gen.Events, alert))
	db.run(ctx, t, fx.ExperimentID, "r1", fx.Start, fx.Start.Add(fx.Run))

	dir := t.TempDir()
	export := filepath.Join(dir, "run.parquet")
	f, _ := db.factory("")
	cmd := newCmdExport(f, nil)
	cmd.SetArgs([]string{fx.ExperimentID, "--out", export})
	require.NoError(t, cmd.ExecuteContext(ctx))

	notebooks, err := filepath.Glob("../../notebooks/*.ipynb")
	require.NoError(t, err)
	require.NotEmpty(t, notebooks)
	py := os.Getenv("PYTHON")
	if py == "" {
		py = "python3"
	}
	for _, nb := range notebooks {
		t.Run(filepath.Base(nb), func(t *testing.T) {
			out := strings.TrimSuffix(filepath.Base(nb), ".ipynb") + ".executed.ipynb"
			run := exec.CommandContext(ctx, py, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
				"--ExecutePreprocessor.timeout=300", "--output-dir", dir, "--output", out, nb)
			run.Env = append(os.Environ(), "STEADYSTATE_EXPORT="+export)
			msg, err := run.CombinedOutput()
			require.NoError(t, err, "nbconvert --execute %s (install its packages with scripts/pydeps.sh):\n%s", nb, msg)

			data, err := os.ReadFile(filepath.Join(dir, out))
			require.NoError(t, err)
			var executed struct {
				Cells []struct {
					CellType string `json:"cell_type"`
					Outputs  []struct {
						OutputType string          `json:"output_type"`
						Text       json.RawMessage `json:"text"`
						Data       map[string]any  `json:"data"`
					} `json:"outputs"`
				} `json:"cells"`
			}
			require.NoError(t, json.Unmarshal(data, &executed))
			var text strings.Builder
			images := 0
			for _, c := range executed.Cells {
				for _, o := range c.Outputs {
					assert.NotEqual(t, "error", o.OutputType)
					text.Write(o.Text)
					if _, ok := o.Data["image/png"]; ok {
						images++
					}
					if s, ok := o.Data["text/plain"]; ok {
						b, _ := json.Marshal(s)
						text.Write(b)
					}
				}
			}
			assert.GreaterOrEqual(t, images, 2, "the cohort and flow charts are drawn")
			assert.Contains(t, text.String(), "PaymentDependencyErrors", "the alert is listed")
			assert.Contains(t, text.String(), "events, ", "the summary line is printed")
		})
	}
}
