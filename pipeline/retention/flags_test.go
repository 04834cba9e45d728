package retention

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The flags as `analyze retention apply` registers them give the config:
// defaults, the ages given, --cluster before the default cluster, and a
// bad age, config or --output is an error naming its flag.
func TestFlagsConfig(t *testing.T) {
	parse := func(args ...string) Flags {
		t.Helper()
		var f Flags
		fl := pflag.NewFlagSet("apply", pflag.ContinueOnError)
		f.AddFlags(fl)
		require.NoError(t, fl.Parse(args))
		return f
	}
	c, err := parse().Config("prod")
	require.NoError(t, err)
	want := NewDefaultConfig()
	want.Cluster = "prod"
	assert.Equal(t, want, c)

	c, err = parse("--raw", "14d", "--cache", "0", "--cluster", "c2", "-o", "json").Config("prod")
	require.NoError(t, err)
	assert.Equal(t, Config{Raw: 14 * 24 * time.Hour, Views: want.Views, Cache: 0, Cluster: "c2"}, c)

	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--raw", "bogus"}, `--raw "bogus": want a duration like 30d or 720h`},
		{[]string{"--views", "1h"}, "views age 1h0m0s: at least 24h"},
		{[]string{"--output", "xml"}, `--output "xml": want text or json`},
	} {
		_, err := parse(tt.args...).Config("")
		assert.ErrorContains(t, err, tt.msg, "%v", tt.args)
	}
}
