package synth

import (
	"time"

	"github.com/spf13/pflag"
)

// AddFlags registers `ingest synth`'s settings as flags, with their
// defaults: --every, --mode, --ingest, --endpoint, --drop-stage,
// --stage-gap and --count (Token comes from the environment).
func (c *Config) AddFlags(fl *pflag.FlagSet) {
	fl.DurationVar(&c.Every, "every", time.Minute, "start one synthetic item this often")
	fl.StringVar(&c.Mode, "mode", "emit", "emit (post the stage events to ingest) or http (call --endpoint)")
	fl.StringVar(&c.Ingest, "ingest", "http://127.0.0.1:4318", "ingest's HTTP base URL (emit mode)")
	fl.StringVar(&c.Endpoint, "endpoint", "", "URL to POST to for each item (http mode); {key} is replaced by the item key")
	fl.StringVar(&c.DropStage, "drop-stage", "", "emit mode: leave this stage out, so items get stuck before it")
	fl.DurationVar(&c.StageGap, "stage-gap", 100*time.Millisecond, "emit mode: time between an item's stage events")
	fl.IntVar(&c.Count, "count", 0, "stop after this many items (0: run until stopped)")
}
