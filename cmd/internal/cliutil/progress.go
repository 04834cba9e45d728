package cliutil

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// ProgressBar draws "[#####.....]  50%  500000/1000000 events" on one
// terminal line, redrawn at most every 100 ms. A nil *ProgressBar does
// nothing, so callers need no checks when stderr is not a terminal.
type ProgressBar struct {
	w     io.Writer
	total int64
	unit  string
	last  time.Time
	now   func() time.Time
}

func NewProgressBar(w io.Writer, total int64, unit string) *ProgressBar {
	return &ProgressBar{w: w, total: total, unit: unit, now: time.Now}
}

// Set redraws the bar for done units, unless it was drawn very recently.
func (p *ProgressBar) Set(done int64) {
	if p == nil {
		return
	}
	if t := p.now(); t.Sub(p.last) >= 100*time.Millisecond || done == p.total {
		p.last = t
		p.draw(done)
	}
}

func (p *ProgressBar) draw(done int64) {
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(done)/float64(p.total), 1)
	}
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%%  %d/%d %s", strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, done, p.total, p.unit)
}

// Done draws the final state and ends the line.
func (p *ProgressBar) Done(done int64) {
	if p == nil {
		return
	}
	p.draw(done)
	fmt.Fprintln(p.w)
}
