// Command analyze reads what Steadystate stored in ClickHouse: it applies
// the schema, compares experiment and control cohorts, checks flows, and
// writes reports.
package main

import (
	"os"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
)

func main() {
	os.Exit(int(run(os.Args[1:], cliutil.System())))
}
