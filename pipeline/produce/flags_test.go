package produce

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAddFlagsSetsTheConfig(t *testing.T) {
	def := NewDefaultConfig()
	c := NewDefaultConfig()
	fl := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	c.AddFlags(fl)
	require.NoError(t, fl.Parse(nil))
	assert.Equal(t, def, c, "no flags: the defaults")

	require.NoError(t, fl.Parse([]string{"--topic", "t1", "--partitions", "7", "--replication", "3",
		"--batch-timeout", "10ms", "--compression", "zstd"}))
	want := def
	want.Topic, want.Partitions, want.Replication = "t1", 7, 3
	want.BatchTimeout, want.Compression = 10*time.Millisecond, "zstd"
	assert.Equal(t, want, c)
}
