package cliutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsTerminalFalseOffTerminals(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer devNull.Close()
	// /dev/null is a character device, which the old mode check took for
	// a terminal.
	st, err := devNull.Stat()
	require.NoError(t, err)
	require.NotZero(t, st.Mode()&os.ModeCharDevice, "the test needs /dev/null to be a character device")
	assert.False(t, IsTerminal(devNull), "/dev/null")

	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.False(t, IsTerminal(r), "pipe read end")
	assert.False(t, IsTerminal(w), "pipe write end")

	f, err := os.Create(filepath.Join(t.TempDir(), "file"))
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, IsTerminal(f), "regular file")
}

// buildBinary builds ./cmd/<name> into a temporary directory.
func buildBinary(t *testing.T, name string, extra ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	args := append([]string{"build", "-o", bin}, extra...)
	args = append(args, "../../"+name)
	cmd := exec.Command("go", args...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s: %s", name, out)
	return bin
}

// runBinary runs bin and returns its exit code, stdout and stderr.
func runBinary(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "run %s", bin)
		code = ee.ExitCode()
	}
	return code, out.String(), errOut.String()
}

// TestBinaries runs the built programs: usage errors exit 2 with one
// error style, --version names the version, commit and Go version, and
// the exit codes are in --help.
func TestBinaries(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("builds both binaries")
	}
	const pkg = "github.com/steadystate/steadystate/cmd/internal/cliutil"
	bins := map[string]string{}
	for _, name := range []string{"analyze", "ingest"} {
		bins[name] = buildBinary(t, name)
	}
	for _, name := range []string{"analyze", "ingest"} {
		t.Run(name, func(t *testing.T) {
			bin := bins[name]
			for _, args := range [][]string{
				{"--no-such-flag"},
				{"no-such-command"},
				{"--help", "--no-such-flag"},
			} {
				code, out, errOut := runBinary(t, bin, args...)
				assert.Equal(t, int(ExitUsage), code, "%s %v: stdout %q stderr %q", name, args, out, errOut)
				assert.True(t, strings.HasPrefix(errOut, name+": error: "), "%s %v: stderr %q", name, args, errOut)
				assert.Contains(t, errOut, "--help' for usage.")
				assert.Equal(t, 1, strings.Count(errOut, "error"), "the error is printed once: %q", errOut)
			}

			code, out, errOut := runBinary(t, bin, "--version")
			require.Equal(t, 0, code, errOut)
			assert.Equal(t, name+" (devel) (commit unknown, "+runtime.Version()+")\n", out)

			code, out, _ = runBinary(t, bin, "--help")
			require.Equal(t, 0, code)
			assert.Contains(t, out, ExitCodesHelp)

			stamped := buildBinary(t, name, "-ldflags", "-X "+pkg+".version=v9.8.7 -X "+pkg+".commit=abc1234")
			code, out, errOut = runBinary(t, stamped, "--version")
			require.Equal(t, 0, code, errOut)
			assert.Equal(t, name+" v9.8.7 (commit abc1234, "+runtime.Version()+")\n", out)
		})
	}
	t.Run("analyze bad arguments", func(t *testing.T) {
		bin := bins["analyze"]
		for _, args := range [][]string{
			{"compare"},                     // missing argument
			{"compare", "a", "b"},           // too many
			{"run", "list", "a", "b"},       // too many
			{"compare", "exp-1", "-o", "x"}, // bad flag value
		} {
			code, _, errOut := runBinary(t, bin, args...)
			assert.Equal(t, int(ExitUsage), code, "%v: %s", args, errOut)
			assert.True(t, strings.HasPrefix(errOut, "analyze: error: "), "%v: %q", args, errOut)
		}
	})
	// cobra reports an unknown subcommand only under the root; under a
	// command group it used to print the group's help and exit 0.
	t.Run("unknown subcommand of a group", func(t *testing.T) {
		for _, args := range [][]string{
			{"analyze", "flows", "bogus"},
			{"analyze", "run", "bogus", "--experiments", "."},
			{"analyze", "experiments", "bogus"},
			{"analyze", "retention", "bogus"},
			{"analyze", "completion", "bogus"},
			{"ingest", "completion", "bogus"},
		} {
			name, group := args[0], args[0]+" "+args[1]
			code, out, errOut := runBinary(t, bins[name], args[1:]...)
			assert.Equal(t, int(ExitUsage), code, "%v: stdout %q stderr %q", args, out, errOut)
			assert.Empty(t, out, "%v: no help on stdout", args)
			assert.Equal(t, name+`: error: unknown command "bogus" for "`+group+`"`+"\nRun '"+group+" --help' for usage.\n", errOut, "%v", args)
		}
		code, _, errOut := runBinary(t, bins["analyze"], "run", "lis")
		assert.Equal(t, int(ExitUsage), code, errOut)
		assert.Contains(t, errOut, "Did you mean this?\n\tlist\n", "suggestions as under the root")

		// The group alone, or with --help, still shows its help.
		for _, args := range [][]string{{"flows"}, {"flows", "--help"}, {"flows", "bogus", "--help"}, {"help", "flows"}} {
			code, out, errOut := runBinary(t, bins["analyze"], args...)
			assert.Equal(t, 0, code, "%v: %s", args, errOut)
			assert.Contains(t, out, "analyze flows [command]", "%v", args)
		}
	})
	t.Run("ingest bad arguments", func(t *testing.T) {
		bin := bins["ingest"]
		code, _, errOut := runBinary(t, bin, "serve", "extra")
		assert.Equal(t, int(ExitUsage), code, errOut)
		assert.True(t, strings.HasPrefix(errOut, "ingest: error: "), errOut)
	})
}

type markedUsage struct{}

func (markedUsage) Error() string { return "bad --since" }
func (markedUsage) UsageError()   {}

type markedVerdict struct{}

func (markedVerdict) Error() string { return "stop condition holds" }
func (markedVerdict) Verdict()      {}

// TestCode maps errors to exit codes, the pipeline's own usage errors and
// failed checks (which cannot import this package) by their marker
// methods, also when wrapped.
func TestCode(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want ExitCode
	}{
		{nil, ExitOK},
		{errors.New("boom"), ExitError},
		{FlagErrorf("--x"), ExitUsage},
		{fmt.Errorf("wrapped: %w", markedUsage{}), ExitUsage},
		{&VerdictError{Msg: "fail"}, ExitVerdict},
		{fmt.Errorf("wrapped: %w", markedVerdict{}), ExitVerdict},
	} {
		assert.Equal(t, tt.want, Code(tt.err), "%v", tt.err)
	}
}

func TestVerdictf(t *testing.T) {
	require.NoError(t, Verdictf(false, "experiment %s: verdict fail", "x"))
	err := Verdictf(true, "experiment %s: verdict fail", "x")
	require.EqualError(t, err, "experiment x: verdict fail")
	assert.Equal(t, ExitVerdict, Code(err))
}

// Run calls a test's hook with the options instead of the command's run.
func TestRun(t *testing.T) {
	type opts struct{ n int }
	ran := func(_ context.Context, o *opts) error { o.n = 1; return nil }
	o := &opts{}
	require.NoError(t, Run(context.Background(), o, nil, ran))
	assert.Equal(t, 1, o.n)
	var got *opts
	require.NoError(t, Run(context.Background(), &opts{n: 2}, func(o *opts) error { got = o; return nil }, ran))
	require.NotNil(t, got)
	assert.Equal(t, 2, got.n, "the hook gets the options, run does not run")
}
