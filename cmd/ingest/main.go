// Command ingest is Steadystate's data path: `serve` receives OTLP traces,
// logs and JSON events, tags them with experiment and cohort and writes them
// to Kafka; `sink` moves them from Kafka into ClickHouse.
package main

import (
	"os"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
)

func main() {
	os.Exit(int(run(os.Args[1:], cliutil.System())))
}
