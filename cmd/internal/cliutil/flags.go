package cliutil

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/steadystate/steadystate/pipeline/listen"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// The --run help of the commands that read one run after the fact
// (report, backlog, export), where --run may name a --since/--until window.
const PostRunHelp = "run id (default: the latest run); with --since/--until it only names the window"

// AddWindowFlags registers --run, --since and --until, which
// query.Reader.ResolveWindow reads.
func AddWindowFlags(fl *pflag.FlagSet, wf *query.WindowFlags, runHelp string) {
	fl.StringVar(&wf.Run, "run", "", runHelp)
	fl.StringVar(&wf.Since, "since", "", "window start: RFC 3339 time or a duration before now (30m)")
	fl.StringVar(&wf.Until, "until", "", "window end: RFC 3339 time or a duration before now (default: now)")
}

// AddExperimentsFlag registers --experiments, the directory of experiment
// and flow definitions: $STEADYSTATE_EXPERIMENTS, else ./experiments.
func AddExperimentsFlag(fl *pflag.FlagSet, p *string) {
	dir := os.Getenv("STEADYSTATE_EXPERIMENTS")
	if dir == "" {
		dir = "experiments"
	}
	fl.StringVar(p, "experiments", dir, "directory of experiment and flow definitions ($STEADYSTATE_EXPERIMENTS)")
}

// AddLogLevelFlag registers --log-level, which NewLogger reads, for the
// long-running commands.
func AddLogLevelFlag(fl *pflag.FlagSet, p *string) {
	fl.StringVar(p, "log-level", "info", "debug, info, warn or error")
}

// AdminFlags are the flags of a process with an admin server (ingest serve
// and sink): --admin, --pprof, --log-level and --insecure-listen.
type AdminFlags struct {
	Addr     string
	Pprof    bool
	LogLevel string
	Insecure bool
}

// AddAdminFlags registers the AdminFlags, --admin defaulting to addr.
func AddAdminFlags(fl *pflag.FlagSet, a *AdminFlags, addr string) {
	fl.StringVar(&a.Addr, "admin", addr, "address of /healthz, /readyz and /metrics")
	fl.BoolVar(&a.Pprof, "pprof", false, "also serve /debug/pprof/ on the admin address")
	AddLogLevelFlag(fl, &a.LogLevel)
	listen.AddInsecureFlag(fl, &a.Insecure)
}

// Start starts the admin server on --admin: reg on /metrics, ready on
// /readyz and, with --pprof, the runtime profiles.
func (a AdminFlags) Start(reg *prometheus.Registry, ready func(context.Context) error, log *slog.Logger) (*Admin, error) {
	admin, err := StartAdmin(a.Addr, AdminOptions{Registry: reg, Pprof: a.Pprof, Ready: ready}, log)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	return admin, nil
}

// AddOutputFlag registers -o/--output on cmd, table (the default) or json,
// and checks the value (CheckOutput) after the arguments and before the
// command's own PreRunE and RunE. Call it after setting PreRunE.
func AddOutputFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "output", "o", "table", "output format: table or json")
	next := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if err := CheckOutput(*p); err != nil || next == nil {
			return err
		}
		return next(c, args)
	}
}

// CheckOutput is the usage error for an --output other than table or json.
func CheckOutput(o string) error {
	if o != "table" && o != "json" {
		return FlagErrorf("--output %q: want table or json", o)
	}
	return nil
}

// ExperimentArg accepts exactly one argument, a valid experiment id;
// a bad id is a usage error saying "<label>: <why>".
func ExperimentArg(label string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(1)(cmd, args); err != nil {
			return err
		}
		return CheckExperimentID(label, args[0])
	}
}

// OptionalExperimentArg accepts no argument or one valid experiment id.
func OptionalExperimentArg(label string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MaximumNArgs(1)(cmd, args); err != nil || len(args) == 0 {
			return err
		}
		return CheckExperimentID(label, args[0])
	}
}

// CheckExperimentID is the experiment argument's check of one id.
func CheckExperimentID(label, id string) error {
	if err := telemetry.ValidateID(id); err != nil {
		return FlagErrorf("%s: %w", label, err)
	}
	return nil
}

// WriteJSON writes v as indented JSON, the --output json of every command.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// Print writes v for --output: indented JSON with json, else the table
// that table writes.
func Print[T any](w io.Writer, output string, v T, table func(io.Writer, T) error) error {
	if output == "json" {
		return WriteJSON(w, v)
	}
	return table(w, v)
}
