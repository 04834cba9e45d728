package retention

import (
	"fmt"

	"github.com/spf13/pflag"
)

// Flags are the flags of `analyze retention apply` as written: the ages
// (--raw, --views, --cache), --cluster, --dry-run and --output.
type Flags struct {
	Ages
	Cluster string
	DryRun  bool
	// Output is text or json.
	Output string
}

// AddFlags registers the flags.
func (f *Flags) AddFlags(fl *pflag.FlagSet) {
	fl.StringVar(&f.Raw, "raw", "", "age of raw events (e.g. 30d, 720h; 0 keeps forever)")
	fl.StringVar(&f.Views, "views", "", "age of the aggregate views")
	fl.StringVar(&f.Cache, "cache", "", "age of the caches")
	fl.StringVar(&f.Cluster, "cluster", "", "ClickHouse cluster the schema was migrated for (default $STEADYSTATE_CLICKHOUSE_CLUSTER)")
	fl.BoolVar(&f.DryRun, "dry-run", false, "list the partitions without dropping them")
	fl.StringVarP(&f.Output, "output", "o", "text", "text or json")
}

// Config is the config the flags ask for: NewDefaultConfig with the ages
// given (SetAges), on --cluster or else defaultCluster, validated; and it
// checks --output. An error names its flag.
func (f Flags) Config(defaultCluster string) (Config, error) {
	c := NewDefaultConfig()
	if err := c.SetAges(f.Ages); err != nil {
		return c, err
	}
	if c.Cluster = f.Cluster; c.Cluster == "" {
		c.Cluster = defaultCluster
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	if f.Output != "text" && f.Output != "json" {
		return c, fmt.Errorf("--output %q: want text or json", f.Output)
	}
	return c, nil
}
