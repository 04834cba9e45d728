package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/experiment"
)

func TestExperimentsCommands(t *testing.T) {
	ios, _, out, errOut := cliutil.Test()
	code := run([]string{"--experiments", "../../experiments/examples", "experiments", "validate"}, ios)
	require.Equal(t, cliutil.ExitOK, code, errOut.String())
	assert.Contains(t, out.String(), "1 experiments, 1 flows, all valid")

	ios, _, out, _ = cliutil.Test()
	require.Equal(t, cliutil.ExitOK, run([]string{"--experiments", "../../experiments/examples", "experiments", "list", "--output", "json"}, ios))
	var list []experiment.Summary
	require.NoError(t, json.Unmarshal(out.Bytes(), &list))
	require.Len(t, list, 1)
	assert.Equal(t, "checkout-payment-500", list[0].ID)
	assert.Equal(t, []string{"checkout_errors", "checkout_latency_p95", "checkout_good"}, list[0].SLIs)

	ios, _, out, _ = cliutil.Test()
	require.Equal(t, cliutil.ExitOK, run([]string{"--experiments", "../../experiments/examples", "experiments", "show", "checkout-payment-500"}, ios))
	assert.Contains(t, out.String(), "stop        checkout_errors above 0.2 for 30s")
	assert.Contains(t, out.String(), "expects     dave: checkout_errors fails")

	ios, _, _, errOut = cliutil.Test()
	assert.Equal(t, cliutil.ExitError, run([]string{"--experiments", "../../experiments/examples", "experiments", "show", "nope"}, ios))
	assert.Contains(t, errOut.String(), `no experiment "nope"`)

	ios, _, _, errOut = cliutil.Test()
	assert.Equal(t, cliutil.ExitError, run([]string{"--experiments", "../../pipeline/experiment/testdata/duplicate-across-files", "experiments", "validate"}, ios))
	assert.Contains(t, errOut.String(), "duplicate-across-files")
}

func TestCompareAndLiveFlags(t *testing.T) {
	for name, tt := range map[string]struct {
		args []string
		want string
	}{
		"bad output":     {[]string{"compare", "exp-1", "--output", "xml"}, `--output "xml"`},
		"bad id":         {[]string{"compare", "exp'1"}, "experiment:"},
		"bad alpha":      {[]string{"compare", "exp-1", "--alpha", "0.7"}, "--alpha"},
		"tiny interval":  {[]string{"live", "exp-1", "--interval", "1ms"}, "--interval 1ms"},
		"bad run id":     {[]string{"run", "start", "exp 1"}, "experiment:"},
		"missing arg":    {[]string{"compare"}, "accepts 1 arg"},
		"negative dur":   {[]string{"live", "exp-1", "--duration", "-1s"}, "--duration"},
		"live bad alpha": {[]string{"live", "exp-1", "--alpha", "0"}, "--alpha"},
	} {
		t.Run(name, func(t *testing.T) {
			ios, _, _, errOut := cliutil.Test()
			code := run(tt.args, ios)
			assert.Equal(t, cliutil.ExitUsage, code)
			assert.Contains(t, errOut.String(), tt.want)
		})
	}
}
