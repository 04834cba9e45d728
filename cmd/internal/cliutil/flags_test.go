package cliutil

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/query"
)

func TestCheckOutput(t *testing.T) {
	require.NoError(t, CheckOutput("table"))
	require.NoError(t, CheckOutput("json"))
	err := CheckOutput("xml")
	require.EqualError(t, err, `--output "xml": want table or json`)
	assert.Equal(t, ExitUsage, Code(err))
}

func TestExperimentArg(t *testing.T) {
	args := ExperimentArg("experiment id")
	require.NoError(t, args(&cobra.Command{}, []string{"checkout-payment-500"}))
	err := args(&cobra.Command{}, []string{"x'y"})
	require.ErrorContains(t, err, "experiment id: ")
	assert.Equal(t, ExitUsage, Code(err))
	require.ErrorContains(t, args(&cobra.Command{}, nil), "accepts 1 arg(s), received 0")
}

func TestOptionalExperimentArg(t *testing.T) {
	args := OptionalExperimentArg("experiment")
	require.NoError(t, args(&cobra.Command{}, nil))
	require.NoError(t, args(&cobra.Command{}, []string{"checkout-payment-500"}))
	err := args(&cobra.Command{}, []string{"x'y"})
	require.ErrorContains(t, err, "experiment: ")
	assert.Equal(t, ExitUsage, Code(err))
	require.ErrorContains(t, args(&cobra.Command{}, []string{"a", "b"}), "accepts at most 1 arg(s), received 2")
}

// A bad --output is a usage error before the command runs, and an earlier
// PreRunE still runs after the check.
func TestAddOutputFlagChecks(t *testing.T) {
	var out string
	var ran []string
	cmd := &cobra.Command{Use: "x",
		PreRunE: func(*cobra.Command, []string) error { ran = append(ran, "pre"); return nil },
		RunE:    func(*cobra.Command, []string) error { ran = append(ran, "run"); return nil }}
	AddOutputFlag(cmd, &out)
	cmd.SetArgs([]string{"-o", "xml"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	require.EqualError(t, err, `--output "xml": want table or json`)
	assert.Equal(t, ExitUsage, Code(err))
	assert.Empty(t, ran)
	cmd.SetArgs([]string{"-o", "json"})
	require.NoError(t, cmd.Execute())
	assert.Equal(t, []string{"pre", "run"}, ran)
}

func TestWindowAndOutputFlags(t *testing.T) {
	var wf query.WindowFlags
	var out string
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	AddWindowFlags(cmd.Flags(), &wf, PostRunHelp)
	AddOutputFlag(cmd, &out)
	cmd.SetArgs([]string{"--run", "r1", "--since", "30m", "-o", "json"})
	require.NoError(t, cmd.Execute())
	assert.Equal(t, query.WindowFlags{Run: "r1", Since: "30m"}, wf)
	assert.Equal(t, "json", out)
	assert.Equal(t, "table", cmd.Flags().Lookup("output").DefValue)
}

func TestPrint(t *testing.T) {
	var b bytes.Buffer
	table := func(w io.Writer, v map[string]int) error { _, err := fmt.Fprintf(w, "TABLE %d\n", v["a"]); return err }
	require.NoError(t, Print(&b, "json", map[string]int{"a": 1}, table))
	assert.Equal(t, "{\n  \"a\": 1\n}\n", b.String())
	b.Reset()
	require.NoError(t, Print(&b, "table", map[string]int{"a": 1}, table))
	assert.Equal(t, "TABLE 1\n", b.String())
}

func TestAddExperimentsFlag(t *testing.T) {
	var dir string
	fl := pflag.NewFlagSet("x", pflag.ContinueOnError)
	t.Setenv("STEADYSTATE_EXPERIMENTS", "")
	AddExperimentsFlag(fl, &dir)
	assert.Equal(t, "experiments", dir)
	fl = pflag.NewFlagSet("x", pflag.ContinueOnError)
	t.Setenv("STEADYSTATE_EXPERIMENTS", "/defs")
	AddExperimentsFlag(fl, &dir)
	assert.Equal(t, "/defs", dir)
	require.NoError(t, fl.Parse([]string{"--experiments", "mine"}))
	assert.Equal(t, "mine", dir)
}
