package query

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/queries"
)

// Reader runs the read queries on one ClickHouse database. It is safe for
// concurrent use (the client is a connection pool).
type Reader struct {
	C *store.Client
}

// New returns a Reader over c.
func New(c *store.Client) *Reader { return &Reader{C: c} }

// Open connects to the database of cfg; Close the Reader when done.
func Open(ctx context.Context, cfg store.Config) (*Reader, error) {
	c, err := store.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return New(c), nil
}

// Close closes the client's connections.
func (r *Reader) Close() error { return r.C.Close() }

// each runs a named query and calls scan for every row; errors name the
// query.
func (r *Reader) each(ctx context.Context, name string, params queries.Params, scan func(driver.Rows) error) error {
	rows, err := r.C.Query(ctx, name, params)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// ceilUnix rounds t up to whole seconds, so [since, until) keeps events of
// the current second.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
