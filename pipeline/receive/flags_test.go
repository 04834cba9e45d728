package receive

import (
	"testing"

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

	require.NoError(t, fl.Parse([]string{"--grpc", "127.0.0.1:1", "--http", "127.0.0.1:2",
		"--max-request-bytes", "1024", "--token-file", "/tmp/tokens"}))
	want := def
	want.GRPCEndpoint, want.HTTPEndpoint, want.MaxRequestBytes, want.TokenFile = "127.0.0.1:1", "127.0.0.1:2", 1024, "/tmp/tokens"
	assert.Equal(t, want, c)
}
