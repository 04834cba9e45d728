package sink

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With two inserts in flight, a batch whose insert finishes first is still
// committed only after every batch handed over before it; after a batch
// that could not be inserted nothing more is committed; a barrier passes
// once everything before it is committed.
func TestFlushersCommitInOrder(t *testing.T) {
	ctx := context.Background()
	release := map[int]chan struct{}{} // per batch (by rows.len()), closed to let its insert finish
	fail := map[int]bool{}
	for n := 1; n <= 5; n++ {
		release[n] = make(chan struct{})
	}
	fail[4] = true
	var mu sync.Mutex
	var committed []int
	insert := func(_ context.Context, b *batch, _ *insertColumns) error {
		n := b.rows.len()
		<-release[n]
		if fail[n] {
			return errors.New("not inserted")
		}
		return nil
	}
	commit := func(_ context.Context, b *batch) {
		mu.Lock()
		defer mu.Unlock()
		committed = append(committed, b.rows.len())
	}
	commits := func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), committed...)
	}
	flushes := make(chan *batch)
	free := make(chan *batch, 1)
	done := make(chan error, 1)
	var wg sync.WaitGroup
	startFlushers(ctx, 2, insert, commit, flushes, free, done, &wg, new(batchSizes), new(atomic.Int32), nil)

	batchOf := func(n int) *batch {
		b := newBatch()
		for range n {
			b.rows.offsets = append(b.rows.offsets, 0) // n rows, to tell them apart
		}
		return b
	}
	flushes <- batchOf(1)
	flushes <- batchOf(2)
	close(release[2]) // the second insert finishes first
	time.Sleep(100 * time.Millisecond)
	assert.Empty(t, commits(), "batch 2 waits for batch 1")
	close(release[1])
	require.Eventually(t, func() bool { return len(commits()) == 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, []int{1, 2}, commits())

	barrier := make(chan struct{})
	flushes <- batchOf(3)
	flushes <- &batch{barrier: barrier}
	select {
	case <-barrier:
		t.Fatal("the barrier passed before batch 3 was committed")
	case <-time.After(100 * time.Millisecond):
	}
	close(release[3])
	<-barrier
	assert.Equal(t, []int{1, 2, 3}, commits())

	flushes <- batchOf(4) // fails
	flushes <- batchOf(5)
	close(release[5])
	close(release[4])
	close(flushes)
	wg.Wait()
	require.EqualError(t, <-done, "not inserted")
	assert.Equal(t, []int{1, 2, 3}, commits(), "nothing committed after a batch that was not inserted")
}
