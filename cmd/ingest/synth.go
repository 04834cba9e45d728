package main

import (
	"context"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/synth"
)

// EnvSynthToken is the bearer token synth sends to ingest in emit mode.
const EnvSynthToken = "STEADYSTATE_INGEST_TOKEN"

type synthOptions struct {
	f           *factory
	Flow        string
	Experiments string
	Synth       synth.Config
	LogLevel    string
	Client      *http.Client
}

func newCmdSynth(f *factory) *cobra.Command {
	opts := &synthOptions{f: f}
	cmd := &cobra.Command{
		Use:   "synth",
		Short: "Start synthetic items of a flow on a schedule, to tell an idle flow from a dead one",
		Long: `synth starts one synthetic item of a flow every --every, so the flow check
can tell "no publishes on a quiet Sunday" (idle) from "publishing is
broken" (broken). Every synthetic item is marked chaos.synthetic=true: the
flow check counts it apart, and cohort comparisons and business counts
never include it.

--mode emit (demo and tests) posts the stage events itself, one per stage,
--stage-gap apart, to ingest's POST /v1/events at --ingest, with the flow,
the item key (in the field the flow's key names, and as flow_key), the stage
and each stage's service and attributes from the definition. --drop-stage
leaves one stage out, so the items get stuck there (to test the alerts).

--mode http calls the real system instead: a POST to --endpoint with
{"flow", "key", "<the flow's key field>", "synthetic": true}, the headers
"baggage: chaos.synthetic=true,flow.key=<key>" and
"X-Steadystate-Synthetic: true"; "{key}" in the URL is replaced by the key.
The system's own telemetry then carries the item through the stages.

The flow comes from the definitions in --experiments. SIGINT or SIGTERM
stops starting items and lets those under way finish (at most 10 s).
A bearer token for ingest is read from $STEADYSTATE_INGEST_TOKEN.`,
		Example: `  ingest synth --flow publish --every 1m --experiments experiments/examples
  ingest synth --flow publish --every 10s --drop-stage cache.purged
  ingest synth --flow publish --mode http --endpoint 'https://cms.internal/republish?id={key}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Flow == "" {
				return cliutil.FlagErrorf("--flow is required")
			}
			if err := opts.Synth.Validate(); err != nil {
				return err
			}
			return synthRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Flow, "flow", "", "the flow to exercise (required)")
	cliutil.AddExperimentsFlag(fl, &opts.Experiments)
	opts.Synth.AddFlags(fl)
	cliutil.AddLogLevelFlag(fl, &opts.LogLevel)
	return cmd
}

func synthRun(ctx context.Context, opts *synthOptions) error {
	log, err := cliutil.NewLogger(opts.f.IO.ErrOut, opts.LogLevel)
	if err != nil {
		return err
	}
	spec, err := experiment.LoadDir(opts.Experiments)
	if err != nil {
		return err
	}
	fl, ok := spec.Flow(opts.Flow)
	if !ok {
		return cliutil.FlagErrorf("--flow %q: not defined in %s", opts.Flow, opts.Experiments)
	}
	opts.Synth.Token = os.Getenv(EnvSynthToken)
	return synth.Run(ctx, opts.Synth, fl, opts.Client, log)
}
