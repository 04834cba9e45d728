package live

import (
	"time"

	"github.com/steadystate/steadystate/pipeline/query"
)

// DefaultHistoryEvery is how long live keeps the looks' verdict history
// rows before writing them when nothing changed. Every write is a new
// part of verdict_history's 33 columns, which ClickHouse 18.16 pays for
// whatever the rows (about 7-9 ms of its CPU at `make bench-compare`'s 20
// watchers, a third of a watcher's ClickHouse CPU per steady look, and a
// merge later): written every 30 s, not every 5 s look.
const DefaultHistoryEvery = 30 * time.Second

// maxPendingHistory is the most rows kept while writes fail (ClickHouse
// away); beyond it the oldest are dropped, and the watch says so.
const maxPendingHistory = 4096

// historyBuffer holds the verdict history rows of the looks not written
// yet and decides when to write them: at the first look, at a look whose
// verdict changed (an SLI's or the stop), when every has passed since the
// last write, and at the end of the watch (flush). Rows are written in
// look order and each once; a failed write keeps them for the next.
type historyBuffer struct {
	every     time.Duration
	pending   []query.VerdictRow
	lastWrite time.Time
	written   bool // a write succeeded
	stop      bool // the stop state of the last look added
	dropped   int  // rows dropped while writes failed, not said yet
}

// add appends one look's rows (at now) and reports whether the pending
// rows are to be written now.
func (h *historyBuffer) add(rows []query.VerdictRow, stop bool, now time.Time) bool {
	changed := stop != h.stop
	h.stop = stop
	for _, r := range rows {
		changed = changed || r.ChangedFrom != ""
	}
	h.pending = append(h.pending, rows...)
	if over := len(h.pending) - maxPendingHistory; over > 0 {
		h.pending = append(h.pending[:0], h.pending[over:]...)
		h.dropped += over
	}
	return !h.written || changed || now.Sub(h.lastWrite) >= h.every
}

// wrote records a successful write of the pending rows at now.
func (h *historyBuffer) wrote(now time.Time) {
	h.pending = h.pending[:0]
	h.lastWrite, h.written = now, true
}
