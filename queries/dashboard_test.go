package queries

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// grafanaParams is what deploy/compose/grafana/gen_dashboard.py puts in
// place of each parameter: Grafana's time range in unix seconds and the
// dashboard's variables.
var grafanaParams = map[string]string{
	"since_s":       "${__from:date:seconds}",
	"until_s":       "${__to:date:seconds}",
	"experiment_id": "'${experiment}'",
	"service":       "'${service}'",
	"flow":          "'${flow}'",
	"step_s":        "${step}",
}

var paramRE = regexp.MustCompile(`@([a-z_]+)`)

// The provisioned dashboard runs exactly the cross-checked SQL files, so
// its queries work on ClickHouse 18.16 and current releases.
func TestGrafanaDashboardRunsTheQueryFiles(t *testing.T) {
	b, err := os.ReadFile("../deploy/compose/grafana/dashboards/game-day.json")
	require.NoError(t, err)
	var dash struct {
		Templating struct {
			List []struct{ Name string } `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			Targets     []struct {
				RawSQL     string `json:"rawSql"`
				Datasource struct {
					Type string `json:"type"`
				} `json:"datasource"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &dash))
	vars := map[string]bool{"__from": true, "__to": true}
	for _, v := range dash.Templating.List {
		vars[v.Name] = true
	}
	files, err := Names("dashboards")
	require.NoError(t, err)
	used := map[string]bool{}
	for _, p := range dash.Panels {
		_, file, ok := strings.Cut(p.Description, "SQL: queries/")
		require.True(t, ok, "panel %q names its SQL file", p.Title)
		require.Contains(t, files, file, "panel %q", p.Title)
		used[file] = true
		sql, err := Render(file, Data{DB: "steadystate"})
		require.NoError(t, err)
		want := paramRE.ReplaceAllStringFunc(sql, func(m string) string {
			v, ok := grafanaParams[m[1:]]
			require.True(t, ok, "%s: no Grafana value for %s", file, m)
			return v
		})
		require.Len(t, p.Targets, 1, p.Title)
		assert.Equal(t, "grafana-clickhouse-datasource", p.Targets[0].Datasource.Type)
		assert.Equal(t, want, p.Targets[0].RawSQL, "panel %q is out of date: run python3 deploy/compose/grafana/gen_dashboard.py", p.Title)
		for _, m := range regexp.MustCompile(`\$\{(\w+)`).FindAllStringSubmatch(p.Targets[0].RawSQL, -1) {
			assert.True(t, vars[m[1]], "panel %q uses undefined variable %s", p.Title, m[1])
		}
	}
	for _, f := range files {
		assert.True(t, used[f], "%s is used by a panel", f)
	}
}
