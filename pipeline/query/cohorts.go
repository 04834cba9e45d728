package query

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/go-faster/city"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

// BucketRow is one row of the cohort_stats view: distinct events and
// errors of one cohort, service and operation in a 10-second bucket.
// Untagged traffic has cohort none.
type BucketRow struct {
	Bucket    time.Time
	Cohort    telemetry.Cohort
	Service   string
	Operation string
	Events    int64
	Errors    int64
	// Rows are the raw rows behind Events (cohort_tally; duplicates
	// included): Rows > Events says the bucket holds a duplicate.
	Rows int64
	// ByTrace are the events of Events that were untagged and took their
	// trace's cohort in ClickHouse (trace_buckets.sql).
	ByTrace int64
}

// RawCounts are distinct events, errors and good events of one cohort for
// one SLI, counted on the raw events table.
type RawCounts struct {
	Events int64
	Errors int64
	Good   int64
}

// Sample is a latency sample of both cohorts, in seconds.
type Sample struct {
	Control, Experiment []float64
}

// SampleRate is the two-stage latency sample, in parts per million
// (1,000,000 keeps everything): the share of seconds kept, and within
// them the share of each cohort's events.
type SampleRate struct {
	SecondPPM, ControlPPM, ExperimentPPM int64
}

// SettledAge is how old a bucket must be before Reader.Buckets caches its
// distinct counts in cohort_settled.
const SettledAge = 2 * time.Minute

// bucketKey identifies one row of the cohort views.
type bucketKey struct {
	exp       string
	bucket    uint32
	cohort    string
	service   string
	operation string
}

type settledRow struct {
	events, errors, rowsAt uint64
}

// Buckets returns the bucket rows of the experiment in [since, until)
// (10-second buckets, the cohort views' keys), plus untagged traffic when
// untagged is true. Exact distinct counts cost a hash per event
// (analyze/cohort_buckets.sql counts the events table's ids); so Buckets
// first reads the row counts of cohort_tally and the cached counts of
// cohort_settled, and counts only the buckets whose row count changed
// since they were cached (new, late or duplicate rows). It caches the buckets it read once they are older than
// SettledAge. The answer is always the exact distinct count.
func (r *Reader) Buckets(ctx context.Context, experimentID string, since, until time.Time, untagged bool) ([]BucketRow, error) {
	out, err := r.viewBuckets(ctx, experimentID, since, until, untagged)
	if err != nil {
		return nil, err
	}
	if experimentID != "" {
		if out, err = r.addByTrace(ctx, out, experimentID, since, until, untagged); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bucket.Before(out[j].Bucket) })
	return out, nil
}

// BucketsAround is Buckets over [from, at) and over [at, until) read as one
// range: the rows of the buckets before at, and the others; the same rows
// as the two calls give (a bucket belongs to the range its start lies in;
// the events resolved by their trace are added per range as Buckets
// does), with one read of the tally, the cached counts and the events'
// ids instead of two. A live monitor's first look reads its baseline and
// its window this way.
func (r *Reader) BucketsAround(ctx context.Context, experimentID string, from, at, until time.Time, untagged bool) (before, after []BucketRow, err error) {
	rows, err := r.viewBuckets(ctx, experimentID, from, until, untagged)
	if err != nil {
		return nil, nil, err
	}
	for _, b := range rows {
		if b.Bucket.Unix() < at.Unix() {
			before = append(before, b)
		} else {
			after = append(after, b)
		}
	}
	if experimentID != "" {
		// The later range first: under a trace memo (WithTraceMemo) its
		// answer to "was a trace decided" serves the earlier range too.
		if after, err = r.addByTrace(ctx, after, experimentID, at, until, untagged); err != nil {
			return nil, nil, err
		}
		if before, err = r.addByTrace(ctx, before, experimentID, from, at, untagged); err != nil {
			return nil, nil, err
		}
	}
	sort.Slice(before, func(i, j int) bool { return before[i].Bucket.Before(before[j].Bucket) })
	sort.Slice(after, func(i, j int) bool { return after[i].Bucket.Before(after[j].Bucket) })
	return before, after, nil
}

// viewBuckets is Buckets without the events resolved by their trace in
// ClickHouse: the cohort views' exact distinct counts alone.
func (r *Reader) viewBuckets(ctx context.Context, experimentID string, since, until time.Time, untagged bool) ([]BucketRow, error) {
	rows, _, err := r.bucketRows(ctx, experimentID, since, until, untagged)
	return rows, err
}

// bucketRows is viewBuckets that also returns how many buckets' cached
// counts were missing or stale (counted on the events table, or taken
// from a claimant that cached them meanwhile).
func (r *Reader) bucketRows(ctx context.Context, experimentID string, since, until time.Time, untagged bool) ([]BucketRow, int, error) {
	other := experimentID
	if untagged {
		other = ""
	}
	p := queries.Params{"experiment_id": experimentID, "untagged_id": other, "since_s": since.Unix(), "until_s": ceilUnix(until)}
	// The tally is read before the events are counted (see
	// 0006_cohort_tally.up.sql and analyze/cohort_buckets.sql).
	// The cached counts are read beside the tally: a cached count is used
	// only where its row count equals the tally's, whichever was read
	// first.
	var settledRows []keyedSettled
	settledRead := make(chan error, 1)
	// settle caches only buckets older than SettledAge: a range younger
	// than that (a live look's open tail) has nothing cached to read.
	if since.Unix()+10 <= time.Now().Add(-SettledAge).Unix() {
		go func() {
			settledRead <- r.scan(ctx, "analyze/cohort_settled.sql", p, func(k bucketKey, v []uint64) {
				settledRows = append(settledRows, keyedSettled{k, settledRow{events: v[0], errors: v[1], rowsAt: v[2]}})
			}, 3)
		}()
	} else {
		settledRead <- nil
	}
	var tallyRows []keyedTally
	err := r.scan(ctx, "analyze/cohort_tally.sql", p, func(k bucketKey, vals []uint64) { tallyRows = append(tallyRows, keyedTally{k, vals[0]}) }, 1)
	if serr := <-settledRead; err == nil {
		err = serr
	}
	if err != nil {
		return nil, 0, err
	}
	cachedOf := matchSettled(tallyRows, settledRows)
	// The buckets of each experiment ("" the untagged) whose cached
	// counts are missing or stale, counted below: the
	// experiment's own and the untagged traffic's beside each other.
	stale := map[string]map[uint32]bool{}
	for i, t := range tallyRows {
		if st := cachedOf[i]; st != nil && st.rowsAt == t.rows {
			continue
		}
		if stale[t.k.exp] == nil {
			stale[t.k.exp] = map[uint32]bool{}
		}
		stale[t.k.exp][t.k.bucket] = true
	}
	// The tally's rows of the stale buckets, every key of them.
	tally := map[bucketKey]uint64{}
	for _, t := range tallyRows {
		if stale[t.k.exp][t.k.bucket] {
			tally[t.k] = t.rows
		}
	}
	// fresh are the counts computed now (cached below),
	// cached those another reader cached meanwhile (claimedBuckets).
	fresh, cached := map[bucketKey]settledRow{}, map[bucketKey]settledRow{}
	var mu sync.Mutex
	keep := func(k bucketKey, v []uint64, fromCache bool) {
		if !stale[k.exp][k.bucket] {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if fromCache {
			cached[k] = settledRow{events: v[0], errors: v[1], rowsAt: tally[k]}
			return
		}
		fresh[k] = settledRow{events: v[0], errors: v[1], rowsAt: tally[k]}
	}
	if err := r.readStale(ctx, experimentID, stale, tally, keep); err != nil {
		return nil, 0, err
	}
	counted := 0
	for _, buckets := range stale {
		counted += len(buckets)
	}
	out := make([]BucketRow, 0, len(tallyRows))
	for i, t := range tallyRows {
		k := t.k
		var v settledRow
		if stale[k.exp][k.bucket] {
			var ok bool
			if v, ok = fresh[k]; !ok {
				if v, ok = cached[k]; !ok {
					continue // no events after all (e.g. synthetic only)
				}
			}
		} else {
			v = *cachedOf[i]
		}
		c, err := telemetry.ParseCohort(k.cohort)
		if err != nil {
			return nil, 0, fmt.Errorf("cohort buckets: %w", err)
		}
		out = append(out, BucketRow{Bucket: time.Unix(int64(k.bucket), 0).UTC(), Cohort: c, Service: k.service, Operation: k.operation,
			Events: int64(v.events), Errors: int64(v.errors), Rows: int64(t.rows)})
	}
	if err := r.settle(ctx, fresh); err != nil {
		return nil, 0, err
	}
	return out, counted, nil
}

type keyedTally struct {
	k    bucketKey
	rows uint64
}

type keyedSettled struct {
	k bucketKey
	v settledRow
}

// compareKeys orders bucket keys as the cohort reads' ORDER BY does
// (experiment_id, bucket_s, cohort, service, name; strings bytewise, as
// ClickHouse compares String).
func compareKeys(a, b *bucketKey) int {
	if c := strings.Compare(a.exp, b.exp); c != 0 {
		return c
	}
	if a.bucket != b.bucket {
		if a.bucket < b.bucket {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.cohort, b.cohort); c != 0 {
		return c
	}
	if c := strings.Compare(a.service, b.service); c != 0 {
		return c
	}
	return strings.Compare(a.operation, b.operation)
}

// matchSettled returns, for each tally row, its cached counts (nil: none).
// Both reads come ordered by their key, so one walk over both matches
// them; were either not in order (it always is), a map does. A compare
// reads about 15,000 keys of each over its window and baseline: hashing
// every key of both into maps was a third of the reader's CPU.
func matchSettled(tally []keyedTally, settled []keyedSettled) []*settledRow {
	out := make([]*settledRow, len(tally))
	if len(settled) == 0 {
		return out
	}
	sorted := true
	for i := 1; i < len(tally) && sorted; i++ {
		sorted = compareKeys(&tally[i-1].k, &tally[i].k) < 0
	}
	for i := 1; i < len(settled) && sorted; i++ {
		sorted = compareKeys(&settled[i-1].k, &settled[i].k) < 0
	}
	if !sorted {
		m := make(map[bucketKey]*settledRow, len(settled))
		for i := range settled {
			m[settled[i].k] = &settled[i].v
		}
		for i := range tally {
			out[i] = m[tally[i].k]
		}
		return out
	}
	j := 0
	for i := range tally {
		for j < len(settled) && compareKeys(&settled[j].k, &tally[i].k) < 0 {
			j++
		}
		if j < len(settled) && compareKeys(&settled[j].k, &tally[i].k) == 0 {
			out[i] = &settled[j].v
		}
	}
	return out
}

// settle writes the fresh counts of buckets older than SettledAge to
// cohort_settled.
func (r *Reader) settle(ctx context.Context, fresh map[bucketKey]settledRow) error {
	now := time.Now()
	cutoff := uint32(now.Add(-SettledAge).Unix())
	var batch driver.Batch
	for k, v := range fresh {
		if k.bucket+10 > cutoff {
			continue
		}
		if batch == nil {
			insert, err := r.C.InsertSQL("write/cohort_settled_insert.sql")
			if err != nil {
				return err
			}
			batch, err = r.C.Conn.PrepareBatch(ctx, insert)
			if err != nil {
				return fmt.Errorf("prepare cohort_settled insert: %w", err)
			}
			defer func() { _ = batch.Close() }()
		}
		if err := batch.Append(k.exp, time.Unix(int64(k.bucket), 0), k.cohort, k.service, k.operation, v.events, v.errors, v.rowsAt, uint64(now.UnixNano())); err != nil {
			return fmt.Errorf("append cohort_settled: %w", err)
		}
	}
	if batch == nil {
		return nil
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert cohort_settled: %w", err)
	}
	return nil
}

// readStale counts the stale buckets of each experiment ("" the untagged
// traffic) and passes their rows to keep. Buckets other readers may ask
// for at once go through claimedBuckets: the untagged traffic's, and
// under WithSharedSettle the experiment's own too. When none of them is
// old enough to be claimed (a live look's open tail: every watcher reads
// its own), the experiment's and the untagged traffic's are counted in
// one statement instead of one each (18.16 charges about 2.5 ms of CPU per
// statement however little it reads; a look under traffic sends a handful).
// Only then: one statement reads the range both span, and a compare whose
// experiment buckets go back an hour would read the untagged traffic's
// hour for its young tail.
func (r *Reader) readStale(ctx context.Context, experimentID string, stale map[string]map[uint32]bool, tally map[bucketKey]uint64, keep func(bucketKey, []uint64, bool)) error {
	claims := func(exp string) bool {
		return (exp == "" && experimentID != "") || ctx.Value(sharedSettleKey{}) != nil
	}
	cutoff := uint32(time.Now().Add(-SettledAge).Unix())
	young := func() bool {
		for _, buckets := range stale {
			for b := range buckets {
				if b+10 <= cutoff {
					return false
				}
			}
		}
		return true
	}
	if len(stale) > 1 && young() {
		return r.staleBuckets(ctx, stale, tally, keep)
	}
	read := make(chan error, len(stale))
	for exp, buckets := range stale {
		go func() {
			if claims(exp) {
				read <- r.claimedBuckets(ctx, exp, buckets, tally, keep)
				return
			}
			read <- r.staleBuckets(ctx, map[string]map[uint32]bool{exp: buckets}, tally, keep)
		}()
	}
	var err error
	for range stale {
		if rerr := <-read; err == nil {
			err = rerr
		}
	}
	return err
}

// staleBuckets reads the distinct counts of the given buckets of one or
// two experiments ("" the untagged traffic) on the events table
// (analyze/cohort_buckets.sql over the range the buckets span), passing
// each row of them to keep. The statement answers each key by its
// cityHash64 (experiment, service, operation); the rows are named by the
// keys of tally (the tally rows of the stale buckets, read before), and a
// row no tally key hashes to (a key first inserted after the tally was
// read) is left out, as the answer is built from the tally's keys.
func (r *Reader) staleBuckets(ctx context.Context, stale map[string]map[uint32]bool, tally map[bucketKey]uint64, keep func(bucketKey, []uint64, bool)) error {
	var (
		lo, hi uint32
		exps   []string
	)
	for exp, buckets := range stale {
		exps = append(exps, exp)
		for b := range buckets {
			if lo == 0 || b < lo {
				lo = b
			}
			hi = max(hi, b)
		}
	}
	if len(exps) == 0 || len(exps) > 2 {
		return fmt.Errorf("cohort buckets: %d experiments in one read, want 1 or 2", len(exps))
	}
	type hashedKey struct {
		bucket uint32
		cohort string
		hash   uint64
	}
	names := make(map[hashedKey]bucketKey, len(tally))
	hashes := map[[3]string]uint64{}
	for k := range tally {
		if !stale[k.exp][k.bucket] {
			continue
		}
		s := [3]string{k.exp, k.service, k.operation}
		h, ok := hashes[s]
		if !ok {
			h = cityHash64Strings(k.exp, k.service, k.operation)
			hashes[s] = h
		}
		names[hashedKey{k.bucket, k.cohort, h}] = k
	}
	q := queries.Params{"experiment_id": exps[0], "untagged_id": exps[len(exps)-1], "since_s": int64(lo), "until_s": int64(hi) + 10}
	rows, err := r.C.Query(ctx, "analyze/cohort_buckets.sql", q)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		hk   hashedKey
		vals = make([]uint64, 2)
	)
	for rows.Next() {
		if err := rows.Scan(&hk.bucket, &hk.cohort, &hk.hash, &vals[0], &vals[1]); err != nil {
			return fmt.Errorf("scan analyze/cohort_buckets.sql: %w", err)
		}
		if k, ok := names[hk]; ok {
			keep(k, vals, false)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read analyze/cohort_buckets.sql: %w", err)
	}
	return nil
}

// Claims on computing an hour of untagged settled counts
// (schema/0020_settle_claims.up.sql): a claim is fresh for claimFresh; a
// reader looks at the claims claimSettle after making its own, so claims
// stamped before its own but written after it are seen (a reader that
// still misses one computes the hour too: wasted work, not a wrong
// answer); a reader that did not win waits up to claimWait for the
// winner's counts, looking every claimPoll, then computes what is still
// missing.
const (
	claimFresh  = time.Minute
	claimSettle = 500 * time.Millisecond
	claimWait   = 15 * time.Second
	claimPoll   = time.Second
)

// claimedBuckets is staleBuckets for traffic several readers may ask for
// at once: the untagged traffic, which every experiment's blast radius
// reads, and, under WithSharedSettle (live looks), the experiment's own.
// The hours whose buckets are old enough to be cached are claimed
// (settle_claims), computed by the earliest claimant and read by the
// others from cohort_settled once it holds them for the tally's row
// counts, so readers starting together count each hour's events once. What
// the winner has not cached within claimWait, and buckets too young to
// cache, the reader computes itself.
func (r *Reader) claimedBuckets(ctx context.Context, exp string, buckets map[uint32]bool, tally map[bucketKey]uint64, keep func(bucketKey, []uint64, bool)) error {
	cutoff := uint32(time.Now().Add(-SettledAge).Unix())
	// The claimed buckets of each hour: [from, until) of those old enough
	// to be cached.
	hours := map[uint32]claimRange{}
	for b := range buckets {
		if b+10 > cutoff {
			continue
		}
		h := b / 3600 * 3600
		c, ok := hours[h]
		if !ok || b < c.from {
			c.from = b
		}
		c.until = max(c.until, b+10)
		hours[h] = c
	}
	// left are the buckets another reader's claim (the earliest that
	// holds them) computes; the reader computes the rest now.
	left, own := map[uint32]bool{}, map[uint32]bool{}
	var claims []claim
	if len(hours) > 0 {
		var err error
		if claims, err = r.claimHours(ctx, exp, hours); err != nil {
			return err
		}
	}
	for b := range buckets {
		other := false
		if b+10 <= cutoff {
			for _, c := range claims {
				if b >= c.from && b < c.until {
					other = !c.mine
					break
				}
			}
		}
		if other {
			left[b] = true
		} else {
			own[b] = true
		}
	}
	if len(own) > 0 {
		mine := map[bucketKey]settledRow{}
		if err := r.staleBuckets(ctx, map[string]map[uint32]bool{exp: own}, tally, func(k bucketKey, v []uint64, _ bool) {
			mine[k] = settledRow{events: v[0], errors: v[1], rowsAt: tally[k]}
		}); err != nil {
			return err
		}
		// Cached now, not once the reader's other reads are done: the
		// readers waiting for this claim may be the ones those reads wait
		// for (one reader won the experiment's hour, another the untagged
		// traffic's); kept as cached, so they are not written twice.
		if err := r.settle(ctx, mine); err != nil {
			return err
		}
		for k, v := range mine {
			keep(k, []uint64{v.events, v.errors}, true)
		}
	}
	// A reader with a deadline keeps half of what is left of it to
	// compute the buckets itself.
	wait := claimWait
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d)/2)
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(claimPoll)
	defer tick.Stop()
	for len(left) > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the settled untagged counts: %w", ctx.Err())
		case <-deadline.C:
			return r.staleBuckets(ctx, map[string]map[uint32]bool{exp: left}, tally, keep)
		case <-tick.C:
		}
		var lo, hi uint32
		for b := range left {
			if lo == 0 || b < lo {
				lo = b
			}
			hi = max(hi, b)
		}
		got := map[bucketKey][]uint64{}
		p := queries.Params{"experiment_id": exp, "untagged_id": exp, "since_s": int64(lo), "until_s": int64(hi) + 10}
		if err := r.scan(ctx, "analyze/cohort_settled.sql", p, func(k bucketKey, v []uint64) {
			if left[k.bucket] {
				got[k] = append([]uint64(nil), v...)
			}
		}, 3); err != nil {
			return err
		}
		// A bucket is done when every tally row of it is cached at the
		// tally's row count. One cached at another row count was cached
		// by a claimant that has finished it (a claimant caches a
		// bucket's rows in one insert) before rows came that it will not
		// count: the reader counts it now instead of waiting claimWait
		// for nothing.
		done, superseded := map[uint32]bool{}, map[uint32]bool{}
		for b := range left {
			done[b] = true
		}
		for k, rows := range tally {
			if k.exp != exp || !left[k.bucket] {
				continue
			}
			switch v, ok := got[k]; {
			case !ok:
				done[k.bucket] = false
			case v[2] != rows:
				done[k.bucket] = false
				superseded[k.bucket] = true
			}
		}
		for k, v := range got {
			if done[k.bucket] {
				keep(k, v[:2], true)
			}
		}
		for b, ok := range done {
			if ok {
				delete(left, b)
			}
		}
		if len(superseded) > 0 {
			if err := r.staleBuckets(ctx, map[string]map[uint32]bool{exp: superseded}, tally, keep); err != nil {
				return err
			}
			for b := range superseded {
				delete(left, b)
			}
		}
	}
	return nil
}

type sharedSettleKey struct{}

// WithSharedSettle returns a context under which Buckets claims the
// settled hours of the experiment's own buckets it has to compute, as it
// always does the untagged traffic's (claimedBuckets): live looks, so that
// watchers of one experiment starting together count its settled buckets
// once, whoever asks first. A single reader pays for it one claim written
// and read and claimSettle of waiting beside its other reads; compare, one
// reader of a window it usually finds cached, does not use it.
func WithSharedSettle(ctx context.Context) context.Context {
	return context.WithValue(ctx, sharedSettleKey{}, true)
}

// claimRange is the buckets [from, until) (unix seconds) of one hour a
// reader claims to compute.
type claimRange struct{ from, until uint32 }

// claim is a fresh claim on the buckets [from, until), and whether it is
// this reader's.
type claim struct {
	from, until uint32
	mine        bool
}

// claimHours claims computing the given buckets of each hour of an
// experiment's settled counts and returns the fresh claims on those hours
// (this reader's among them), earliest first (analyze/settle_claims.sql).
func (r *Reader) claimHours(ctx context.Context, exp string, hours map[uint32]claimRange) ([]claim, error) {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("claim id: %w", err)
	}
	me := hex.EncodeToString(id[:])
	insert, err := r.C.InsertSQL("write/settle_claims_insert.sql")
	if err != nil {
		return nil, err
	}
	batch, err := r.C.Conn.PrepareBatch(ctx, insert)
	if err != nil {
		return nil, fmt.Errorf("prepare settle_claims insert: %w", err)
	}
	defer func() { _ = batch.Close() }()
	now := time.Now()
	var lo, hi uint32
	for h, c := range hours {
		if err := batch.Append(exp, time.Unix(int64(h), 0), time.Unix(int64(c.from), 0), time.Unix(int64(c.until), 0), me, uint64(now.UnixNano())); err != nil {
			return nil, fmt.Errorf("append settle_claims: %w", err)
		}
		if lo == 0 || h < lo {
			lo = h
		}
		hi = max(hi, h)
	}
	if err := batch.Send(); err != nil {
		return nil, fmt.Errorf("insert settle_claims: %w", err)
	}
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("claim settled counts: %w", ctx.Err())
	case <-time.After(claimSettle):
	}
	var out []claim
	p := queries.Params{"experiment_id": exp, "since_s": int64(lo), "until_s": int64(hi) + 3600, "fresh_ns": uint64(now.Add(-claimFresh).UnixNano())}
	err = r.each(ctx, "analyze/settle_claims.sql", p, func(rows driver.Rows) error {
		var (
			c        claim
			claimant string
		)
		if err := rows.Scan(&c.from, &c.until, &claimant); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		c.mine = claimant == me
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scan runs a query whose rows are experiment_id, bucket_s, cohort,
// service, name and then n UInt64 columns.
func (r *Reader) scan(ctx context.Context, name string, p queries.Params, fn func(bucketKey, []uint64), n int) error {
	rows, err := r.C.Query(ctx, name, p)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]uint64, n)
	dest := make([]any, 0, 5+n)
	var k bucketKey
	dest = append(dest, &k.exp, &k.bucket, &k.cohort, &k.service, &k.operation)
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan %s: %w", name, err)
		}
		fn(k, vals)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// SLIFilter selects one SLI's events on the raw table: the definition's
// filter and, for good_events, what makes an event good.
type SLIFilter struct {
	Filter experiment.Filter
	Good   *experiment.GoodCriteria
}

func filterParams(experimentID string, w Window, f SLIFilter) queries.Params {
	return queries.Params{
		"experiment_id": experimentID, "since_s": w.Since.Unix(), "until_s": ceilUnix(w.Until),
		"service": f.Filter.Service, "operation": f.Filter.Operation, "attr_pairs": AttrPairs(f.Filter.Attributes),
	}
}

// SLICounts counts one SLI's distinct events, errors and good events per
// cohort on the raw table (analyze/sli_counts.sql).
func (r *Reader) SLICounts(ctx context.Context, experimentID string, w Window, sli SLIFilter) (map[telemetry.Cohort]RawCounts, error) {
	p := filterParams(experimentID, w, sli)
	p["kinds"] = []string{"span", "event", "log"}
	p["good_not_error"], p["good_max_ns"], p["good_http"], p["good_codes"] = 0, int64(0), 0, []string{""}
	if g := sli.Good; g != nil {
		p["kinds"] = []string{"span", "event"}
		if g.Status == telemetry.StatusOK {
			p["good_not_error"] = 1
		}
		p["good_max_ns"] = maxDurationNs(g)
		if codes := goodCodes(g.HTTPStatus); len(codes) > 0 {
			p["good_http"], p["good_codes"] = 1, codes
		}
	}
	out := map[telemetry.Cohort]RawCounts{}
	if err := r.sliCounts(ctx, "analyze/sli_counts.sql", p, out); err != nil {
		return nil, err
	}
	if decided, err := r.tracesDecided(ctx, experimentID, w.Since, w.Until); err != nil || !decided {
		return out, err
	}
	if err := r.sliCounts(ctx, "analyze/sli_counts_by_trace.sql", byTraceParams(p, sli), out); err != nil {
		return nil, err
	}
	return out, nil
}

// sliCounts adds the per-cohort counts of one of the sli_counts queries to
// out.
func (r *Reader) sliCounts(ctx context.Context, name string, p queries.Params, out map[telemetry.Cohort]RawCounts) error {
	rows, err := r.C.Query(ctx, name, p)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			cohort             string
			events, errs, good uint64
		)
		if err := rows.Scan(&cohort, &events, &errs, &good); err != nil {
			return fmt.Errorf("scan %s: %w", name, err)
		}
		c, err := telemetry.ParseCohort(cohort)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rc := out[c]
		rc.Events += int64(events)
		rc.Errors += int64(errs)
		rc.Good += int64(good)
		out[c] = rc
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// UnitTally is one cohort's sums over randomization units for one ratio
// SLI (analyze/sli_unit_counts.sql): units, events, errors and good events,
// and the sums over units of n², errors², errors·n, good² and good·n.
type UnitTally struct {
	Units, Events, Errors, Good       int64
	SumN2, SumE2, SumEN, SumG2, SumGN float64
	// Groups > 0 says the sums of squares are over that many unit groups
	// (SLIUnitGroups), not over units: each unit lies in exactly one
	// group, so the cluster-robust variance over group totals is valid.
	Groups int64
	// SampleShift > 0 says Units is estimated: SampledUnits is the exact
	// count of the units whose hash lies in the lowest 2^-SampleShift of
	// the hash space (a fixed random subset of the units), and Units is
	// SampledUnits << SampleShift (at most Events).
	SampleShift  uint
	SampledUnits int64
}

// AddSquares adds sign times one unit's (or unit group's) terms of the
// sums of squares: n events, e errors, g good events (n - e unless the SLI
// names its own good events). sign -1 takes back terms added before.
func (t *UnitTally) AddSquares(n, e, g, sign float64) {
	t.SumN2 += sign * n * n
	t.SumE2 += sign * e * e
	t.SumEN += sign * e * n
	t.SumG2 += sign * g * g
	t.SumGN += sign * g * n
}

// SLIUnitCounts returns one SLI's per-cohort unit tallies on the raw
// table, the spans resolved by their trace in ClickHouse included. unitAttr
// names the unit attribute; "" is the events' subject.
func (r *Reader) SLIUnitCounts(ctx context.Context, experimentID string, w Window, sli SLIFilter, unitAttr string) (map[telemetry.Cohort]UnitTally, error) {
	p := unitParams(experimentID, w, sli)
	p["unit_attr"] = unitAttr
	return r.unitTallies(ctx, "analyze/sli_unit_counts.sql", p)
}

// SLIUnitTally is SLIUnitCounts for an SLI the views serve (service and
// operation filters, good = not an error) with the subject as the unit,
// read from the unit_tally view (analyze/sli_unit_tally.sql). dirty are
// the 10-second buckets (unix seconds) whose raw rows exceed their
// distinct events (BucketRow.Rows > Events): those are counted on the raw
// table, so the answer is the same exact distinct count SLIUnitCounts
// gives.
func (r *Reader) SLIUnitTally(ctx context.Context, experimentID string, w Window, sli SLIFilter, dirty []uint32) (map[telemetry.Cohort]UnitTally, error) {
	p := tallyParams(experimentID, w, sli, dirty)
	return r.unitTallies(ctx, "analyze/sli_unit_tally.sql", p)
}

// UnitGroups is the number of unit groups of the unit_groups view
// (queries/schema/0016_unit_groups.up.sql).
const UnitGroups = 256

// SLIUnitGroups is SLIUnitTally over unit groups instead of units, for
// reads over millions of units: the per-group events and errors of a ratio
// SLI the views serve (analyze/sli_unit_groups.sql, plus
// sli_unit_groups_by_trace.sql when a trace was decided) with the sums of
// squares over the groups (Groups is the number of non-empty groups), and
// the distinct units per cohort from unit_seen (analyze/unit_count.sql).
// Duplicates are handled as in SLIUnitTally (dirty buckets are counted on
// the raw table), so every count is the exact distinct count. With
// sampleShift > 0 only the units whose hash is among the lowest
// 2^-sampleShift of the hash space are counted (SampledUnits), and Units
// is that count scaled up.
func (r *Reader) SLIUnitGroups(ctx context.Context, experimentID string, w Window, sli SLIFilter, dirty []uint32, sampleShift uint) (map[telemetry.Cohort]UnitTally, error) {
	return r.sliUnitGroups(ctx, experimentID, w, sli, dirty, func(context.Context) (uint, int64, error) { return sampleShift, -1, nil })
}

// SLIUnitGroupsAhead is SLIUnitGroups for a reader that has not read the
// window's bucket rows yet (compare reads them beside it): it assumes no
// bucket holds a duplicate (dirty empty) and takes the hash slice
// shiftOf gives for the window's raw rows of either cohort (cohort_tally,
// a quick read; the bucket rows' distinct events give the same unless a
// bucket holds a duplicate). It returns that slice: the caller uses the
// tallies only when the bucket rows confirm both guesses (no dirty
// bucket, the same slice for their distinct events) and otherwise reads
// again with SLIUnitGroups, so the answer is always the exact one.
func (r *Reader) SLIUnitGroupsAhead(ctx context.Context, experimentID string, w Window, sli SLIFilter, shiftOf func(events int64) uint) (map[telemetry.Cohort]UnitTally, uint, error) {
	var shift uint
	out, err := r.sliUnitGroups(ctx, experimentID, w, sli, nil, func(ctx context.Context) (uint, int64, error) {
		// Whether a trace was decided (which statement counts the
		// units) is asked beside the rows, not after them, when the
		// evaluation keeps the answer (WithTraceMemo).
		decided := make(chan error, 1)
		if ctx.Value(traceMemoKey{}) != nil {
			go func() {
				_, err := r.tracesDecided(ctx, experimentID, w.Since, w.Until)
				decided <- err
			}()
		} else {
			decided <- nil
		}
		rows, err := r.windowRows(ctx, experimentID, w)
		if derr := <-decided; err == nil {
			err = derr
		}
		if err != nil {
			return 0, 0, err
		}
		shift = shiftOf(rows)
		return shift, rows, nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, shift, nil
}

// windowRows is the raw rows of both cohorts over w's buckets (bucket
// start in [w.Since, w.Until)), synthetic traffic left out, from the
// cohort_tally view (analyze/window_rows.sql).
func (r *Reader) windowRows(ctx context.Context, experimentID string, w Window) (int64, error) {
	var n uint64
	err := r.each(ctx, "analyze/window_rows.sql", queries.Params{"experiment_id": experimentID, "since_s": w.Since.Unix(), "until_s": ceilUnix(w.Until)},
		func(rows driver.Rows) error { return rows.Scan(&n) })
	if err != nil {
		return 0, err
	}
	return int64(n), nil
}

// sliUnitGroups is SLIUnitGroups with the hash slice of the unit count
// decided by sampleShift, which runs before the count, beside the group
// reads, and may return the window's raw rows (analyze/window_rows.sql;
// -1: not read). For a settled window of an SLI over every event
// (settledUnitsFor) it takes the tallies kept by an earlier reader while
// they still hold (settledUnits), and keeps what it computed otherwise.
func (r *Reader) sliUnitGroups(ctx context.Context, experimentID string, w Window, sli SLIFilter, dirty []uint32, sampleShift func(context.Context) (uint, int64, error)) (map[telemetry.Cohort]UnitTally, error) {
	var (
		once        sync.Once
		shift       uint
		windowRows  int64
		shiftErr    error
		keep        = settledUnitsFor(w, sli, dirty)
		shiftAndRow = func(ctx context.Context) (uint, int64, error) {
			once.Do(func() { shift, windowRows, shiftErr = sampleShift(ctx) })
			return shift, windowRows, shiftErr
		}
	)
	if keep {
		t, ok, err := r.settledUnits(ctx, experimentID, w, shiftAndRow)
		if err != nil || ok {
			return t, err
		}
	}
	p := tallyParams(experimentID, w, sli, dirty)
	delete(p, "kinds")
	delete(p, "slack_s")
	p["logs"] = 1
	if sli.Good != nil {
		p["logs"] = 0
	}
	groups := map[unitGroupKey][2]int64{}
	add := func(rows driver.Rows) error {
		var (
			cohort         string
			grp            uint16
			events, errors uint64
		)
		if err := rows.Scan(&cohort, &grp, &events, &errors); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		c, err := telemetry.ParseCohort(cohort)
		if err != nil {
			return err
		}
		k := unitGroupKey{c, grp}
		g := groups[k]
		groups[k] = [2]int64{g[0] + int64(events), g[1] + int64(errors)}
		return nil
	}
	common := []string{"experiment_id", "logs", "service", "operation"}
	q := pick(p, append(common, "since_s", "until_s")...)
	// The distinct units (unit_seen) are counted while the groups are
	// read: the two statements share nothing but the window.
	counted := make(chan unitCount, 1)
	go func() {
		shift, _, err := shiftAndRow(ctx)
		if err != nil {
			counted <- unitCount{err: err}
			return
		}
		uc, err := r.unitCount(ctx, experimentID, w, q, shift)
		uc.err = err
		counted <- uc
	}()
	gp := pick(p, append(common, "since_s", "until_s", "dirty")...)
	for k, v := range minuteParams(p["since_s"].(int64), p["until_s"].(int64), dirty) {
		gp[k] = v
	}
	err := r.each(ctx, "analyze/sli_unit_groups.sql", gp, add)
	if err == nil && len(dirty) > 0 {
		err = r.each(ctx, "analyze/sli_unit_groups_dirty.sql", pick(p, append(common, "dirty", "dirty_since_s", "dirty_until_s")...), add)
	}
	decided := false
	if err == nil {
		decided, err = r.tracesDecided(ctx, experimentID, w.Since, w.Until)
	}
	if err == nil && decided {
		bq := pick(q, append(common, "since_s", "until_s")...)
		bq["slack_s"] = int64(TraceSlack / time.Second)
		err = r.each(ctx, "analyze/sli_unit_groups_by_trace.sql", bq, add)
	}
	uc := <-counted
	if err != nil {
		return nil, err
	}
	if uc.err != nil {
		return nil, uc.err
	}
	if keep && !decided && !uc.decided {
		if err := r.keepUnits(ctx, experimentID, w, shift, groups, uc); err != nil {
			return nil, err
		}
	}
	return unitGroupTallies(groups, uc.units, shift), nil
}

// unitGroupKey is one cohort's unit group (query.UnitGroups of them).
type unitGroupKey struct {
	cohort telemetry.Cohort
	grp    uint16
}

// unitCount is unitCount's answer: the distinct units per cohort in the
// hash slice, the unit_seen rows they were counted from (0 with a decided
// trace) and whether a trace was decided.
type unitCount struct {
	units   map[telemetry.Cohort]uint64
	rows    uint64
	decided bool
	err     error
}

// unitGroupTallies sums the unit groups' events and errors into per-cohort
// tallies with their sums of squares, and sets the distinct units counted
// in the 2^-shift slice (scaled up, at most the events).
func unitGroupTallies(groups map[unitGroupKey][2]int64, units map[telemetry.Cohort]uint64, shift uint) map[telemetry.Cohort]UnitTally {
	out := map[telemetry.Cohort]UnitTally{}
	for k, v := range groups {
		t := out[k.cohort]
		n, e := float64(v[0]), float64(v[1])
		t.Groups++
		t.Events += v[0]
		t.Errors += v[1]
		t.Good += v[0] - v[1]
		t.AddSquares(n, e, n-e, 1)
		out[k.cohort] = t
	}
	for c, u := range units {
		t := out[c]
		t.SampleShift, t.SampledUnits = shift, int64(u)
		t.Units = min(int64(u)<<shift, t.Events)
		out[c] = t
	}
	return out
}

// settledUnitsFor reports whether the unit-level tallies of an SLI over w
// may be kept and taken from unit_settled (schema/0025_unit_settled.up.sql):
// the SLI counts every event of both cohorts (no service, operation or
// attribute filter, log records included), so the groups' raw rows are
// cohort_tally's; no bucket holds a duplicate (then the groups' raw rows
// are the distinct events); the window ended SettledAge ago (a live
// window's tallies change with every look and are never asked again).
func settledUnitsFor(w Window, sli SLIFilter, dirty []uint32) bool {
	return len(dirty) == 0 && sli.Good == nil && sli.Filter.Service == "" && sli.Filter.Operation == "" &&
		len(sli.Filter.Attributes) == 0 && ceilUnix(w.Until) <= time.Now().Add(-SettledAge).Unix()
}

// settledUnits returns the kept unit-level tallies of the window in the
// slice shiftAndRows gives (analyze/unit_settled.sql) when they still
// hold: no trace decided for the window, cohort_tally's raw rows of the
// window equal the groups' raw rows they were computed from, and the
// slice's unit_seen rows are unchanged (analyze/unit_slice_rows.sql). ok
// is false when nothing kept holds.
//
// The kept entries (the newest of each slice) are read beside the window
// rows that decide the slice, and the slice rows of the newest entry (the
// dearest check, a read of the slice's rows) as soon as it is in, for its
// own slice: a repeat comparison waits for the longer of the two chains,
// not for their sum. An entry is used only for the slice the window rows
// give and only once all three checks hold; the slice rows of another
// entry are read after the window rows, as before.
func (r *Reader) settledUnits(ctx context.Context, experimentID string, w Window, shiftAndRows func(context.Context) (uint, int64, error)) (map[telemetry.Cohort]UnitTally, bool, error) {
	p := queries.Params{"experiment_id": experimentID, "since_s": w.Since.Unix(), "until_s": ceilUnix(w.Until)}
	sliceRows := func(shift uint8) (uint64, error) {
		sp := pick(p, "experiment_id", "since_s", "until_s")
		sp["unit_max"] = uint64(math.MaxUint64) >> shift
		var slice uint64
		err := r.each(ctx, "analyze/unit_slice_rows.sql", sp, func(rows driver.Rows) error { return rows.Scan(&slice) })
		return slice, err
	}
	type keptUnits struct {
		shift                 uint8
		keptWindow, keptSlice uint64
		ctlUnits, expUnits    uint64
		cohorts               []string
		grps                  []uint16
		events, errorCounts   []uint64
	}
	var (
		entries  []keptUnits // newest first
		slice    uint64      // entries[0]'s slice rows
		keptRead = make(chan error, 1)
		kp       = pick(p, "experiment_id", "since_s", "until_s")
	)
	go func() {
		err := r.each(ctx, "analyze/unit_settled.sql", kp, func(rows driver.Rows) error {
			var k keptUnits
			if err := rows.Scan(&k.shift, &k.keptWindow, &k.keptSlice, &k.ctlUnits, &k.expUnits, &k.cohorts, &k.grps, &k.events, &k.errorCounts); err != nil {
				return err
			}
			entries = append(entries, k)
			return nil
		})
		if err == nil && len(entries) > 0 {
			slice, err = sliceRows(entries[0].shift)
		}
		keptRead <- err
	}()
	shift, windowRows, err := shiftAndRows(ctx)
	// The window rows (unless known) and whether a trace was decided are
	// read beside the kept entries.
	var (
		decided bool
		wg      sync.WaitGroup
		errs    [2]error
	)
	if err == nil {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if windowRows < 0 {
				windowRows, errs[0] = r.windowRows(ctx, experimentID, w)
			}
		}()
		go func() {
			defer wg.Done()
			decided, errs[1] = r.tracesDecided(ctx, experimentID, w.Since, w.Until)
		}()
		wg.Wait()
	}
	if kerr := <-keptRead; err == nil {
		err = kerr
	}
	for _, e := range errs {
		if err == nil {
			err = e
		}
	}
	if err != nil || decided {
		return nil, false, err
	}
	var k *keptUnits
	for i := range entries {
		if uint(entries[i].shift) == shift {
			k = &entries[i]
			break
		}
	}
	if k == nil || int64(k.keptWindow) != windowRows ||
		len(k.grps) != len(k.cohorts) || len(k.events) != len(k.cohorts) || len(k.errorCounts) != len(k.cohorts) {
		return nil, false, nil
	}
	if k != &entries[0] {
		if slice, err = sliceRows(k.shift); err != nil {
			return nil, false, err
		}
	}
	if slice != k.keptSlice {
		return nil, false, nil
	}
	groups := make(map[unitGroupKey][2]int64, len(k.cohorts))
	for i, cs := range k.cohorts {
		c, err := telemetry.ParseCohort(cs)
		if err != nil {
			return nil, false, fmt.Errorf("unit_settled: %w", err)
		}
		groups[unitGroupKey{c, k.grps[i]}] = [2]int64{int64(k.events[i]), int64(k.errorCounts[i])}
	}
	units := map[telemetry.Cohort]uint64{telemetry.CohortControl: k.ctlUnits, telemetry.CohortExperiment: k.expUnits}
	return unitGroupTallies(groups, units, shift), true, nil
}

// keepUnits writes the unit-level tallies just computed for a window to
// unit_settled with the row totals they were computed from: the groups'
// raw rows of both cohorts and the slice's unit_seen rows.
func (r *Reader) keepUnits(ctx context.Context, experimentID string, w Window, shift uint, groups map[unitGroupKey][2]int64, uc unitCount) error {
	keys := make([]unitGroupKey, 0, len(groups))
	var windowRows int64
	for k, v := range groups {
		keys = append(keys, k)
		windowRows += v[0]
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].cohort != keys[j].cohort {
			return keys[i].cohort < keys[j].cohort
		}
		return keys[i].grp < keys[j].grp
	})
	cohorts, grps := make([]string, len(keys)), make([]uint16, len(keys))
	events, errs := make([]uint64, len(keys)), make([]uint64, len(keys))
	for i, k := range keys {
		cohorts[i], grps[i] = k.cohort.String(), k.grp
		events[i], errs[i] = uint64(groups[k][0]), uint64(groups[k][1])
	}
	insert, err := r.C.InsertSQL("write/unit_settled_insert.sql")
	if err != nil {
		return err
	}
	batch, err := r.C.Conn.PrepareBatch(ctx, insert)
	if err != nil {
		return fmt.Errorf("prepare unit_settled insert: %w", err)
	}
	defer func() { _ = batch.Close() }()
	if err := batch.Append(experimentID, time.Unix(w.Since.Unix(), 0), time.Unix(ceilUnix(w.Until), 0), uint8(shift), uint64(windowRows), uc.rows,
		uc.units[telemetry.CohortControl], uc.units[telemetry.CohortExperiment], cohorts, grps, events, errs, uint64(time.Now().UnixNano())); err != nil {
		return fmt.Errorf("append unit_settled: %w", err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert unit_settled: %w", err)
	}
	return nil
}

// unitCount counts the distinct units per cohort of an SLI the views
// serve over q's window (analyze/unit_count.sql, or
// unit_count_by_trace.sql when a trace was decided), in the
// 2^-sampleShift slice of the unit hash space.
func (r *Reader) unitCount(ctx context.Context, experimentID string, w Window, q queries.Params, sampleShift uint) (unitCount, error) {
	decided, err := r.tracesDecided(ctx, experimentID, w.Since, w.Until)
	if err != nil {
		return unitCount{}, err
	}
	name := "analyze/unit_count.sql"
	p := pick(q, "experiment_id", "logs", "service", "operation", "since_s", "until_s")
	if decided {
		name = "analyze/unit_count_by_trace.sql"
		p["slack_s"] = int64(TraceSlack / time.Second)
	}
	p["unit_max"] = uint64(math.MaxUint64) >> sampleShift
	out := unitCount{units: map[telemetry.Cohort]uint64{}, decided: decided}
	err = r.each(ctx, name, p, func(rows driver.Rows) error {
		var (
			cohort      string
			units, seen uint64
		)
		if err := rows.Scan(&cohort, &units, &seen); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		c, err := telemetry.ParseCohort(cohort)
		if err != nil {
			return err
		}
		out.units[c] += units
		out.rows += seen
		return nil
	})
	if err != nil {
		return unitCount{}, err
	}
	return out, nil
}

// minuteParams are sli_unit_groups.sql's minute-row parameters for the
// window [since, until) (unix seconds; 10-second buckets b with since <= b
// < until) and its dirty buckets: the whole minutes of the window
// [min_since_s, min_until_s) (a minute m is whole when its buckets m ..
// m+50 all lie in the window), the minutes holding a dirty bucket
// (dirty_minutes, read from the 10-second rows instead) and the range they
// span [dm_since_s, dm_until_s).
func minuteParams(since, until int64, dirty []uint32) queries.Params {
	lo := (since + 59) / 60 * 60
	hi := (until + 9) / 60 * 60
	if hi < lo {
		hi = lo
	}
	minutes := []uint32{}
	seen := map[uint32]bool{}
	var dlo, dhi int64
	for _, b := range dirty {
		m := b / 60 * 60
		if int64(m) < lo || int64(m) >= hi || seen[m] {
			continue
		}
		seen[m] = true
		minutes = append(minutes, m)
		if dlo == 0 || int64(m) < dlo {
			dlo = int64(m)
		}
		dhi = max(dhi, int64(m)+60)
	}
	sort.Slice(minutes, func(i, j int) bool { return minutes[i] < minutes[j] })
	return queries.Params{"min_since_s": lo, "min_until_s": hi, "dirty_minutes": minutes, "dm_since_s": dlo, "dm_until_s": dhi}
}

// UnitRow is one cohort's and unit's distinct events and errors in one
// 10-second bucket (analyze/sli_unit_rows.sql). Unit is cityHash64 of the
// subject; 0 holds the events without one, each a unit of its own.
type UnitRow struct {
	Bucket         uint32
	Cohort         telemetry.Cohort
	Unit           uint64
	Events, Errors int64
}

// SLIUnitRows returns the per-bucket, per-unit rows behind SLIUnitTally
// over [w.Since, w.Until), for a reader that keeps per-unit counts of
// settled buckets and re-reads only the recent ones (live).
//
// With perBucket false the rows are summed over the window (Bucket 0).
func (r *Reader) SLIUnitRows(ctx context.Context, experimentID string, w Window, sli SLIFilter, dirty []uint32, perBucket bool) ([]UnitRow, error) {
	p := tallyParams(experimentID, w, sli, dirty)
	p["per_bucket"] = 0
	if perBucket {
		p["per_bucket"] = 1
	}
	common := []string{"experiment_id", "per_bucket", "kinds", "service", "operation"}
	var out []UnitRow
	if err := r.unitRows(ctx, "analyze/sli_unit_rows.sql", pick(p, append(common, "since_s", "until_s", "dirty")...), &out); err != nil {
		return nil, err
	}
	return r.unitRowsRest(ctx, experimentID, w, p, common, len(dirty) > 0, out)
}

// unitRowsRest appends to out, the rows of the window's settled buckets,
// what SLIUnitRows and SLIUnitSums both read after them: the dirty
// buckets' rows (analyze/sli_unit_rows_dirty.sql) and, when a trace of
// the window was decided, the rows by trace. common names the parameters
// of p every statement takes (per_bucket among them).
func (r *Reader) unitRowsRest(ctx context.Context, experimentID string, w Window, p queries.Params, common []string, dirty bool, out []UnitRow) ([]UnitRow, error) {
	if dirty {
		if err := r.unitRows(ctx, "analyze/sli_unit_rows_dirty.sql", pick(p, append(common, "dirty", "dirty_since_s", "dirty_until_s")...), &out); err != nil {
			return nil, err
		}
	}
	if decided, err := r.tracesDecided(ctx, experimentID, w.Since, w.Until); err != nil || !decided {
		return out, err
	}
	if err := r.unitRows(ctx, "analyze/sli_unit_rows_by_trace.sql", pick(p, append(common, "since_s", "until_s", "slack_s")...), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// MaxPackedRows is the most raw rows a window may hold for SLIUnitSums to
// read its per-unit sums packed (analyze/sli_unit_sums.sql): below 2^31
// every packed sum stays below 2^64, and the bound leaves as many rows
// again for events that arrive between the caller's bucket read and this
// one.
const MaxPackedRows = 1 << 30

// SLIUnitSums is SLIUnitRows with perBucket false (the rows summed per
// cohort and unit over w, bucket 0), for a window the caller knows holds
// at most rowsAtMost raw rows (the bucket rows' raw rows, every cohort;
// negative: unknown). Below MaxPackedRows the view's part is read grouped
// by the unit alone with each unit's events and errors of both cohorts
// packed into two sums (analyze/sli_unit_sums.sql), which costs ClickHouse
// about half the CPU of the (cohort, unit) grouping of sli_unit_rows.sql;
// the rows are the same (in another order).
func (r *Reader) SLIUnitSums(ctx context.Context, experimentID string, w Window, sli SLIFilter, dirty []uint32, rowsAtMost int64) ([]UnitRow, error) {
	if rowsAtMost < 0 || rowsAtMost >= MaxPackedRows {
		return r.SLIUnitRows(ctx, experimentID, w, sli, dirty, false)
	}
	p := tallyParams(experimentID, w, sli, dirty)
	p["per_bucket"] = 0
	common := []string{"experiment_id", "kinds", "service", "operation"}
	// At most a row per raw row and cohort; sized once up to 64k rows
	// (a first look's 50k units would otherwise copy the slice through
	// every doubling).
	out := make([]UnitRow, 0, min(rowsAtMost, 1<<16))
	// Scanned into variables outside the callback: declared in it, each
	// row would allocate the three (they escape through Scan's arguments).
	var unit, packed, weighted uint64
	err := r.each(ctx, "analyze/sli_unit_sums.sql", pick(p, append(common, "since_s", "until_s", "dirty")...), func(rows driver.Rows) error {
		if err := rows.Scan(&unit, &packed, &weighted); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		out = unpackUnitSums(out, unit, packed, weighted)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r.unitRowsRest(ctx, experimentID, w, p, append(common, "per_bucket"), len(dirty) > 0, out)
}

// unpackUnitSums appends one unit's rows (bucket 0) from its packed sums
// (analyze/sli_unit_sums.sql): packed is events<<32 + errors of both
// cohorts, weighted the same with the experiment cohort's counted twice,
// so the experiment cohort's counts are weighted - packed, field by field,
// and the control cohort's the rest. A cohort without events has no row.
func unpackUnitSums(out []UnitRow, unit, packed, weighted uint64) []UnitRow {
	const low = 1<<32 - 1
	n, e := int64(packed>>32), int64(packed&low)
	xn, xe := int64(weighted>>32)-n, int64(weighted&low)-e
	if cn := n - xn; cn > 0 {
		out = append(out, UnitRow{Cohort: telemetry.CohortControl, Unit: unit, Events: cn, Errors: e - xe})
	}
	if xn > 0 {
		out = append(out, UnitRow{Cohort: telemetry.CohortExperiment, Unit: unit, Events: xn, Errors: xe})
	}
	return out
}

// unitRows appends the rows of one of the sli_unit_rows queries to out.
func (r *Reader) unitRows(ctx context.Context, name string, p queries.Params, out *[]UnitRow) error {
	// Outside the callback, so a row does not allocate them (see
	// SLIUnitSums).
	var (
		u              UnitRow
		cohort         uint8
		events, errors uint64
	)
	return r.each(ctx, name, p, func(rows driver.Rows) error {
		if err := rows.Scan(&u.Bucket, &cohort, &u.Unit, &events, &errors); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		// The cohort comes as its number (the Enum8's, telemetry.Cohort's).
		if cohort > uint8(telemetry.CohortExperiment) {
			return fmt.Errorf("cohort %d: want 0, 1 or 2", cohort)
		}
		u.Cohort, u.Events, u.Errors = telemetry.Cohort(cohort), int64(events), int64(errors)
		*out = append(*out, u)
		return nil
	})
}

// pick returns the params named by keys (a query binds exactly the
// params it uses).
func pick(p queries.Params, keys ...string) queries.Params {
	out := make(queries.Params, len(keys))
	for _, k := range keys {
		out[k] = p[k]
	}
	return out
}

func tallyParams(experimentID string, w Window, sli SLIFilter, dirty []uint32) queries.Params {
	p := unitParams(experimentID, w, sli)
	// The view serves neither attributes nor good criteria beyond "not an
	// error" (callers only ask for SLIs it can serve).
	for _, k := range []string{"attr_pairs", "good_not_error", "good_max_ns", "good_http", "good_codes"} {
		delete(p, k)
	}
	var lo, hi int64
	for i, b := range dirty {
		if i == 0 || int64(b) < lo {
			lo = int64(b)
		}
		hi = max(hi, int64(b)+10)
	}
	if dirty == nil {
		dirty = []uint32{}
	}
	p["dirty"], p["dirty_since_s"], p["dirty_until_s"] = dirty, lo, hi
	return p
}

func unitParams(experimentID string, w Window, sli SLIFilter) queries.Params {
	p := filterParams(experimentID, w, sli)
	p["kinds"] = []string{"span", "event", "log"}
	p["good_not_error"], p["good_max_ns"], p["good_http"], p["good_codes"] = 0, int64(0), 0, []string{""}
	if g := sli.Good; g != nil {
		p["kinds"] = []string{"span", "event"}
		if g.Status == telemetry.StatusOK {
			p["good_not_error"] = 1
		}
		p["good_max_ns"] = maxDurationNs(g)
		if codes := goodCodes(g.HTTPStatus); len(codes) > 0 {
			p["good_http"], p["good_codes"] = 1, codes
		}
	}
	return byTraceParams(p, sli)
}

func (r *Reader) unitTallies(ctx context.Context, name string, p queries.Params) (map[telemetry.Cohort]UnitTally, error) {
	rows, err := r.C.Query(ctx, name, p)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[telemetry.Cohort]UnitTally{}
	for rows.Next() {
		var (
			cohort             string
			units              uint64
			events, errs, good float64
			n2, e2, en, g2, gn float64
		)
		if err := rows.Scan(&cohort, &units, &events, &errs, &good, &n2, &e2, &en, &g2, &gn); err != nil {
			return nil, fmt.Errorf("scan %s: %w", name, err)
		}
		c, err := telemetry.ParseCohort(cohort)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[c] = UnitTally{Units: int64(units), Events: int64(events), Errors: int64(errs), Good: int64(good),
			SumN2: n2, SumE2: e2, SumEN: en, SumG2: g2, SumGN: gn}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// ReplayRow is one control event for the A/A replay
// (analyze/replay_events.sql).
type ReplayRow struct {
	EventID, Unit, Service, Operation string
	TimeNs                            uint64
	Error                             bool
	DurationNs                        uint64
	HTTPStatus                        uint16
}

// ReplayEvents returns the control cohort's distinct events of a window,
// in time order, with the randomization unit (unitAttr "" = the subject).
func (r *Reader) ReplayEvents(ctx context.Context, experimentID string, w Window, unitAttr string) ([]ReplayRow, error) {
	rows, err := r.C.Query(ctx, "analyze/replay_events.sql", queries.Params{
		"experiment_id": experimentID, "since_s": w.Since.Unix(), "until_s": ceilUnix(w.Until), "unit_attr": unitAttr,
	})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ReplayRow
	for rows.Next() {
		var (
			x     ReplayRow
			ts    uint32
			isErr uint8
		)
		if err := rows.Scan(&x.EventID, &ts, &x.TimeNs, &x.Unit, &x.Service, &x.Operation, &isErr, &x.DurationNs, &x.HTTPStatus); err != nil {
			return nil, fmt.Errorf("scan replay_events: %w", err)
		}
		if x.TimeNs == 0 {
			x.TimeNs = uint64(ts) * 1e9
		}
		x.Error = isErr == 1
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read replay_events: %w", err)
	}
	return out, nil
}

// LatencySample returns the durations of one SLI's events on the
// deterministic two-stage sample: analyze/sli_latency_sample.sql
// (sli_latency_sample_attrs.sql with an attribute filter).
func (r *Reader) LatencySample(ctx context.Context, experimentID string, w Window, sli SLIFilter, rate SampleRate) (Sample, error) {
	evs, err := r.LatencySampleEvents(ctx, experimentID, w, sli, rate)
	if err != nil {
		return Sample{}, err
	}
	return SampleOf(evs), nil
}

// SampleEvent is one sampled event: its cohort, time and duration.
type SampleEvent struct {
	Cohort     telemetry.Cohort
	TimeNs     uint64
	DurationNs uint64
}

// SampleOf returns the durations of sampled events, in seconds, per
// cohort, each cohort's sorted ascending: every quantile SLI of the
// sample sorts its own copy (stats.QuantileEvidence), and a sorted input
// sorts in a pass (10k durations 0.86 ms unsorted, 0.05 ms sorted), so a
// live look with p50, p95 and p99 sorts the sample once instead of three
// times.
func SampleOf(evs []SampleEvent) Sample {
	// Sized once (a first look's sample is thousands of events per
	// cohort, copied through every doubling otherwise).
	var nc, ne int
	for _, e := range evs {
		switch e.Cohort {
		case telemetry.CohortControl:
			nc++
		case telemetry.CohortExperiment:
			ne++
		}
	}
	var out Sample
	if nc > 0 {
		out.Control = make([]float64, 0, nc)
	}
	if ne > 0 {
		out.Experiment = make([]float64, 0, ne)
	}
	for _, e := range evs {
		switch e.Cohort {
		case telemetry.CohortControl:
			out.Control = append(out.Control, float64(e.DurationNs)/1e9)
		case telemetry.CohortExperiment:
			out.Experiment = append(out.Experiment, float64(e.DurationNs)/1e9)
		}
	}
	slices.Sort(out.Control)
	slices.Sort(out.Experiment)
	return out
}

// LatencySampleEvents is LatencySample with each event's time, so a
// caller holding a sample taken at a higher rate can thin it to a lower
// one (Sampled) instead of reading it again.
func (r *Reader) LatencySampleEvents(ctx context.Context, experimentID string, w Window, sli SLIFilter, rate SampleRate) ([]SampleEvent, error) {
	p := filterParams(experimentID, w, sli)
	name := "analyze/sli_latency_sample_attrs.sql"
	if len(sli.Filter.Attributes) == 0 {
		name = "analyze/sli_latency_sample.sql"
		delete(p, "attr_pairs")
	}
	p["second_ppm"], p["control_ppm"], p["experiment_ppm"] = rate.SecondPPM, rate.ControlPPM, rate.ExperimentPPM
	var out []SampleEvent
	secs, listed := keptSeconds(w, rate)
	if listed && len(sli.Filter.Attributes) == 0 {
		if len(secs) > 0 {
			q := pick(p, "experiment_id", "service", "operation", "control_ppm", "experiment_ppm")
			q["seconds"] = secs
			if err := r.latencySample(ctx, "analyze/sli_latency_sample_seconds.sql", q, &out); err != nil {
				return nil, err
			}
		}
	} else if err := r.latencySample(ctx, name, p, &out); err != nil {
		return nil, err
	}
	if decided, err := r.tracesDecided(ctx, experimentID, w.Since, w.Until); err != nil || !decided {
		return out, err
	}
	if err := r.latencySample(ctx, "analyze/sli_latency_sample_by_trace.sql", byTraceParams(p, sli), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// maxListedSeconds is the most kept seconds LatencySampleEvents lists in
// the query (analyze/sli_latency_sample_seconds.sql, which reads only the
// granules holding them); beyond it the query hashes every event's second.
const maxListedSeconds = 4096

// keptSeconds lists the seconds of w the sample keeps at rate, and false
// when every second is kept or the list would exceed maxListedSeconds.
func keptSeconds(w Window, rate SampleRate) ([]uint32, bool) {
	if rate.SecondPPM >= 1_000_000 {
		return nil, false
	}
	secs := []uint32{}
	for t := w.Since.Unix(); t < ceilUnix(w.Until); t++ {
		if intHash64(uint64(t))%1_000_000 < uint64(rate.SecondPPM) {
			if len(secs) == maxListedSeconds {
				return nil, false
			}
			secs = append(secs, uint32(t))
		}
	}
	return secs, true
}

// Sampled reports whether the sample queries keep an event of this time
// and cohort at rate: ClickHouse's intHash64 of its second below
// SecondPPM and of its nanosecond time below the cohort's share, out of a
// million. A sample taken at a rate at least as high in every part holds
// every event a lower rate keeps.
func Sampled(timeNs uint64, c telemetry.Cohort, rate SampleRate) bool {
	if intHash64(timeNs/1e9)%1_000_000 >= uint64(rate.SecondPPM) {
		return false
	}
	share := rate.ControlPPM
	if c == telemetry.CohortExperiment {
		share = rate.ExperimentPPM
	}
	return intHash64(timeNs)%1_000_000 < uint64(share)
}

// cityHash64Strings is ClickHouse's cityHash64 of string arguments: each
// hashed with CityHash64 v1.0.2 and combined left to right with its
// Hash128to64, as ClickHouse combines the hashes of several arguments
// (TestCityHash64StringsMatchesClickHouse holds values from 18.16 and
// chDB 26.9).
func cityHash64Strings(ss ...string) uint64 {
	var h uint64
	for i, s := range ss {
		x := city.CH64([]byte(s))
		if i == 0 {
			h = x
			continue
		}
		h = hash128to64(h, x)
	}
	return h
}

// hash128to64 is CityHash's Hash128to64 of the 128-bit value (lo, hi).
func hash128to64(lo, hi uint64) uint64 {
	const mul = 0x9ddfea08eb382d69
	a := (lo ^ hi) * mul
	a ^= a >> 47
	b := (hi ^ a) * mul
	b ^= b >> 47
	return b * mul
}

// intHash64 is ClickHouse's intHash64 (Murmur3's 64-bit finalizer of x
// xor a constant).
func intHash64(x uint64) uint64 {
	x ^= 0x4CF2D2BAAE6DA887
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func (r *Reader) latencySample(ctx context.Context, name string, p queries.Params, out *[]SampleEvent) error {
	rows, err := r.C.Query(ctx, name, p)
	if err != nil {
		return err
	}
	defer rows.Close()
	// Outside the loop, so a row does not allocate them (see SLIUnitSums).
	var (
		cohort   string
		dur, tns uint64
	)
	for rows.Next() {
		if err := rows.Scan(&cohort, &dur, &tns); err != nil {
			return fmt.Errorf("scan %s: %w", name, err)
		}
		var c telemetry.Cohort
		switch cohort {
		case "control":
			c = telemetry.CohortControl
		case "experiment":
			c = telemetry.CohortExperiment
		default:
			continue
		}
		*out = append(*out, SampleEvent{Cohort: c, TimeNs: tns, DurationNs: dur})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// attrSep separates key and value in the attribute pairs the SQL matches
// (queries/analyze/sli_counts.sql builds the same pairs).
const attrSep = "\x1f"

// AttrPairs renders a filter's attributes as sorted "key\x1Fvalue" pairs.
func AttrPairs(attrs map[string]string) []string {
	out := make([]string, 0, len(attrs))
	for k, v := range attrs {
		out = append(out, k+attrSep+v)
	}
	sort.Strings(out)
	return out
}

// goodCodes expands an HTTP status set to the codes 100..599 it contains.
func goodCodes(set experiment.HTTPStatusSet) []string {
	var out []string
	for c := 100; c <= 599; c++ {
		if set.Contains(c) {
			out = append(out, strconv.Itoa(c))
		}
	}
	return out
}

// maxDurationNs returns the good-event duration bound in nanoseconds (0:
// none).
func maxDurationNs(g *experiment.GoodCriteria) int64 {
	if g == nil || g.MaxDuration <= 0 {
		return 0
	}
	return int64(g.MaxDuration / time.Nanosecond)
}
