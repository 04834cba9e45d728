// Package chtest connects integration tests to the ClickHouse server that
// `make up` started (or $STEADYSTATE_CLICKHOUSE_ADDR). Each test gets a
// database of its own, migrated, and dropped when the test ends. A server
// that does not answer fails the test: integration tests never skip.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/queries"
)

// Config returns the store config of a fresh, uniquely named database.
func Config(tb testing.TB) store.Config {
	tb.Helper()
	cfg := store.NewDefaultConfig()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, strings.ToLower(tb.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	cfg.Database = fmt.Sprintf("t_%s_%s", name, hex.EncodeToString(b[:]))
	return cfg
}

// Open connects, creates and migrates a fresh database, and drops it when
// the test ends.
func Open(tb testing.TB) *store.Client {
	tb.Helper()
	return OpenConfig(tb, Config(tb))
}

// OpenConfig is Open with a given config.
func OpenConfig(tb testing.TB, cfg store.Config) *store.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := store.Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("ClickHouse is not reachable at %s (start it with `make up`): %v", cfg.Addr, err)
	}
	if _, err := c.Migrate(ctx, store.MigrateOptions{}); err != nil {
		_ = c.Close()
		tb.Fatalf("migrate %s: %v", cfg.Database, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		drop, err := queries.Render("migrate/drop_database.sql", queries.Data{DB: cfg.Database})
		if err == nil {
			err = c.Conn.Exec(ctx, drop)
		}
		if err != nil {
			tb.Logf("drop test database %s: %v", cfg.Database, err)
		}
		_ = c.Close()
	})
	return c
}
