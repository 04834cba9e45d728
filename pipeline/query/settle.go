package query

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/steadystate/steadystate/queries"
)

// SettleTargets returns the experiments with events in [since, until),
// "" for the untagged traffic, in order (analyze/settle_targets.sql): what
// one pass of `analyze settle` counts.
func (r *Reader) SettleTargets(ctx context.Context, since, until time.Time) ([]string, error) {
	var out []string
	p := queries.Params{"since_s": since.Unix(), "until_s": ceilUnix(until)}
	err := r.each(ctx, "analyze/settle_targets.sql", p, func(rows driver.Rows) error {
		var exp string
		if err := rows.Scan(&exp); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		out = append(out, exp)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Settle caches in cohort_settled the distinct counts of the buckets of
// one experiment ("" the untagged traffic) in [since, until) that it does
// not hold at their tally's row count, as a live look caches what it
// reads: claimed per hour (settle_claims), so a reader asking for the same
// hour meanwhile counts it once between them. It returns how many buckets
// it found missing or stale (counted, or read from a claimant's cache).
// Buckets younger than SettledAge are counted but not cached; pass an
// until at least SettledAge old.
func (r *Reader) Settle(ctx context.Context, experimentID string, since, until time.Time) (int, error) {
	_, n, err := r.bucketRows(WithSharedSettle(ctx), experimentID, since, until, false)
	if err != nil {
		return 0, fmt.Errorf("settle %q: %w", experimentID, err)
	}
	return n, nil
}
