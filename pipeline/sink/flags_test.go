package sink

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
	fl := pflag.NewFlagSet("sink", pflag.ContinueOnError)
	c.AddFlags(fl)
	require.NoError(t, fl.Parse(nil))
	assert.Equal(t, def, c, "no flags: the defaults")

	require.NoError(t, fl.Parse([]string{"--topic", "t1", "--group", "g1", "--dead-letter-topic", "t1.bad",
		"--max-rows", "5", "--behind-rows", "50", "--max-bytes", "4096", "--max-age", "1s", "--inserts", "3",
		"--age-inserts", "2", "--parallel-views", "--max-event-bytes", "2048"}))
	want := def
	want.Topic, want.Group, want.DeadLetterTopic = "t1", "g1", "t1.bad"
	want.MaxRows, want.BehindRows, want.MaxBytes, want.MaxAge = 5, 50, 4096, time.Second
	want.Inserts, want.AgeInserts, want.ParallelViews, want.MaxEventBytes = 3, 2, true, 2048
	assert.Equal(t, want, c)
}
