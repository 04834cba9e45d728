// Package store is Steadystate's ClickHouse client: it opens native-protocol
// connections, applies the versioned schema from queries/ (the only writer
// of DDL) and runs rendered, bound queries.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/steadystate/steadystate/queries"
)

// Environment variables every command and test reads.
const (
	EnvAddr     = "STEADYSTATE_CLICKHOUSE_ADDR"
	EnvDatabase = "STEADYSTATE_CLICKHOUSE_DATABASE"
	EnvUser     = "STEADYSTATE_CLICKHOUSE_USER"
	EnvPassword = "STEADYSTATE_CLICKHOUSE_PASSWORD" //nolint:gosec // the name of a variable, not a secret
	EnvCluster  = "STEADYSTATE_CLICKHOUSE_CLUSTER"
	// EnvLogQueries = 1 logs every statement in the server's
	// system.query_log (its CPU, rows and bytes; `make bench-compare
	// -profile` sets it for the live watchers).
	EnvLogQueries = "STEADYSTATE_CLICKHOUSE_LOG_QUERIES"
)

// Config says where ClickHouse is.
type Config struct {
	// Addr is host:port of the native protocol. Default: 127.0.0.1:9000,
	// or $STEADYSTATE_CLICKHOUSE_ADDR. On a cluster it may list several
	// servers, comma separated: connections go to the first that answers,
	// and to the next when it dies.
	Addr string `yaml:"addr"`
	// Cluster names the ClickHouse cluster (remote_servers) the schema was
	// migrated for with `analyze migrate --cluster`; empty on a single
	// server. When set, inserts into the Distributed tables are synchronous
	// (insert_distributed_sync=1): an insert returns only once every shard
	// stored its rows, so an offset is never committed past rows that wait
	// in a server's Distributed queue; and they are not deduplicated by
	// block (insert_deduplicate=0), so a retried insert reaches the views.
	// Default: $STEADYSTATE_CLICKHOUSE_CLUSTER.
	Cluster string `yaml:"cluster"`
	// Database holds Steadystate's tables. Default: steadystate, or
	// $STEADYSTATE_CLICKHOUSE_DATABASE.
	Database string `yaml:"database"`
	// Username and Password authenticate. Default: default and empty.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// DialTimeout bounds connecting. Default: 5s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// Compression of the native protocol's data blocks: none, lz4, zstd, or
	// auto (none when every address is on this host, lz4 otherwise; see
	// Config.CompressionMethod). Default: lz4 (the sink's insert benchmark,
	// BenchmarkInsertCompression, measures the client's and the server's
	// CPU for each; the sink's --clickhouse-compression defaults to auto).
	Compression string `yaml:"compression"`
	// LogQueries logs every statement of the connections in the server's
	// system.query_log (log_queries = 1), for profiling. Default: false, or
	// true when $STEADYSTATE_CLICKHOUSE_LOG_QUERIES is 1.
	LogQueries bool `yaml:"log_queries"`
	_          struct{}
}

// NewDefaultConfig returns the defaults, overridden by the environment.
func NewDefaultConfig() Config {
	c := Config{Addr: "127.0.0.1:9000", Database: "steadystate", Username: "default", DialTimeout: 5 * time.Second, Compression: "lz4"}
	if v := os.Getenv(EnvAddr); v != "" {
		c.Addr = v
	}
	if v := os.Getenv(EnvDatabase); v != "" {
		c.Database = v
	}
	if v := os.Getenv(EnvUser); v != "" {
		c.Username = v
	}
	if v := os.Getenv(EnvPassword); v != "" {
		c.Password = v
	}
	if v := os.Getenv(EnvCluster); v != "" {
		c.Cluster = v
	}
	c.LogQueries = os.Getenv(EnvLogQueries) == "1"
	return c
}

// Validate checks the config without dialling.
func (c Config) Validate() error {
	var errs []error
	for _, a := range c.Addrs() {
		if !strings.Contains(a, ":") {
			errs = append(errs, fmt.Errorf("addr %q: want host:port[,host:port...]", c.Addr))
			break
		}
	}
	if len(c.Addrs()) == 0 {
		errs = append(errs, fmt.Errorf("addr %q: want host:port[,host:port...]", c.Addr))
	}
	if c.Cluster != "" {
		if err := queries.ValidateIdent(c.Cluster); err != nil {
			errs = append(errs, fmt.Errorf("cluster: %w", err))
		}
	}
	if err := queries.ValidateIdent(c.Database); err != nil {
		errs = append(errs, fmt.Errorf("database: %w", err))
	}
	if c.DialTimeout <= 0 {
		errs = append(errs, fmt.Errorf("dial_timeout %s: must be positive", c.DialTimeout))
	}
	if _, err := compression(c.CompressionMethod()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Addrs splits Addr into its servers.
func (c Config) Addrs() []string {
	var out []string
	for _, a := range strings.Split(c.Addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Client is a ClickHouse connection bound to one database.
type Client struct {
	Conn driver.Conn
	DB   string
}

// Open connects with the native protocol (ClickHouse 18.16 rejects
// clickhouse-go's HTTP settings) and pings the server. The database need not
// exist yet: Migrate creates it.
func Open(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("clickhouse config: %w", err)
	}
	method, _ := compression(cfg.CompressionMethod())
	settings := clickhouse.Settings{}
	if cfg.LogQueries {
		settings["log_queries"] = 1
	}
	if cfg.Cluster != "" {
		settings["insert_distributed_sync"] = 1
		// No block deduplication in the replicated tables. An insert that
		// failed after a shard's events_local committed its block (a view
		// failed, or ZooKeeper went away with the commit's status unknown)
		// is retried by the sink with the same rows; a deduplicated block
		// skips every materialized view (18.16 has no
		// deduplicate_blocks_in_dependent_materialized_views), so the views
		// would never count those rows. Without deduplication the retry
		// stores them again: duplicates that ReplacingMergeTree, FINAL and
		// every count by event_id collapse, as for a Kafka redelivery.
		// TestClusterRetriedInsertReachesViews shows both.
		settings["insert_deduplicate"] = 0
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Protocol:    clickhouse.Native,
		Addr:        cfg.Addrs(),
		Auth:        clickhouse.Auth{Database: "default", Username: cfg.Username, Password: cfg.Password},
		DialTimeout: cfg.DialTimeout,
		// Our own values only: 18.16 rejects unknown settings.
		Settings:         settings,
		MaxOpenConns:     8,
		MaxIdleConns:     4,
		ConnMaxLifetime:  time.Hour,
		Compression:      method,
		ReadTimeout:      60 * time.Second,
		BlockBufferSize:  4,
		ConnOpenStrategy: clickhouse.ConnOpenInOrder,
	})
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s: %w", cfg.Addr, err)
	}
	if err := conn.Ping(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("ping clickhouse %s: %w", cfg.Addr, err)
	}
	return &Client{Conn: conn, DB: cfg.Database}, nil
}

// CompressionMethod resolves Compression: auto is none when every address
// is on this host (loopback or "localhost") and lz4 otherwise; anything
// else is returned as given.
//
// On loopback, compressing the insert blocks is pure CPU on both ends:
// BenchmarkInsertCompression (2026-11-30, 50,000-row blocks, 5 runs each,
// shared machine at load 10-27) put the sink's client side of an insert at
// 611 ns CPU per event without compression, 1,018 with lz4 and 1,698 with
// zstd. Over a network the bytes matter: 212 bytes per event as sent
// without compression, 34 with lz4 (the stage's records; real ones with
// random ids compress less), so a client on another host keeps lz4.
func (c Config) CompressionMethod() string {
	if c.Compression != "auto" {
		return c.Compression
	}
	for _, a := range c.Addrs() {
		if !loopback(a) {
			return "lz4"
		}
	}
	return "none"
}

// loopback reports whether a host:port names this host by a loopback
// address or "localhost".
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func compression(name string) (*clickhouse.Compression, error) {
	switch name {
	case "none":
		return nil, nil
	case "", "lz4":
		return &clickhouse.Compression{Method: clickhouse.CompressionLZ4}, nil
	case "zstd":
		return &clickhouse.Compression{Method: clickhouse.CompressionZSTD}, nil
	}
	return nil, fmt.Errorf("compression %q: want none, lz4, zstd or auto", name)
}

// Close closes the connection pool.
func (c *Client) Close() error { return c.Conn.Close() }

// ServerVersion reports the server's version string.
func (c *Client) ServerVersion() (string, error) {
	v, err := c.Conn.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("server version: %w", err)
	}
	return fmt.Sprintf("%d.%d.%d", v.Version.Major, v.Version.Minor, v.Version.Patch), nil
}

// SQL renders a query file for this client's database and binds params.
func (c *Client) SQL(name string, params queries.Params) (string, error) {
	text, err := queries.Render(name, queries.Data{DB: c.DB, Params: params})
	if err != nil {
		return "", err
	}
	sql, err := queries.Bind(text, params)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return sql, nil
}

// InsertSQL renders a write/*.sql statement for a native-protocol batch
// (PrepareBatch): the INSERT head with its column list, comment lines
// dropped, since the driver parses the statement itself.
func (c *Client) InsertSQL(name string) (string, error) {
	text, err := queries.Render(name, queries.Data{DB: c.DB})
	if err != nil {
		return "", err
	}
	return dropComments(text), nil
}

// dropComments drops blank and comment lines.
func dropComments(text string) string {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// Query runs a named query and returns its rows.
func (c *Client) Query(ctx context.Context, name string, params queries.Params) (driver.Rows, error) {
	sql, err := c.SQL(name, params)
	if err != nil {
		return nil, err
	}
	rows, err := c.Conn.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", name, err)
	}
	return rows, nil
}

func checksum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}
