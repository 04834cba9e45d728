// Command demo runs the simulated system of `make demo`: a checkout page
// with a payment dependency and a content-publishing pipeline, instrumented
// with the OpenTelemetry Go SDK, exporting OTLP to `ingest serve`, and
// broken for the experiment cohort with chaoshttp.
package main

import (
	"os"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
)

func main() {
	os.Exit(int(run(os.Args[1:], cliutil.System())))
}
