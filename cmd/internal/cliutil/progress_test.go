package cliutil

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestProgressBar(t *testing.T) {
	ios, _, _, errOut := Test()
	p := NewProgressBar(ios.ErrOut, 200, "events")
	p.Set(50)
	p.Set(60) // within 100 ms: not redrawn
	p.Done(200)
	assert.Equal(t, "\r[#######.......................]  25%  50/200 events\r[##############################] 100%  200/200 events\n", errOut.String())
	var nilBar *ProgressBar
	nilBar.Set(1)
	nilBar.Done(1)
}
