package store

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/steadystate/steadystate/queries"
)

// MigrateResult says what Migrate did.
type MigrateResult struct {
	Applied []queries.Migration // newly applied, in order
	Current int                 // schema version after the run
}

// Write says what Migrate did to db: a line per migration applied now,
// then the schema version (the output of `analyze migrate`).
func (r MigrateResult) Write(w io.Writer, db string) {
	for _, m := range r.Applied {
		fmt.Fprintf(w, "applied %04d_%s\n", m.Version, m.Name)
	}
	fmt.Fprintf(w, "schema of %s at version %d (%d applied now)\n", db, r.Current, len(r.Applied))
}

// MigrateOptions tune Migrate.
type MigrateOptions struct {
	// Cluster renders ON CLUSTER DDL with Replicated engines.
	Cluster string
}

// Migrate creates the database and applies every migration not yet recorded
// in schema_migrations, in version order. It is idempotent: statements use
// IF NOT EXISTS, so a run that died halfway is completed by the next one.
// An applied migration whose text changed since is an error, not a silent
// divergence. Run it from one process at a time (`analyze migrate`).
func (c *Client) Migrate(ctx context.Context, opts MigrateOptions) (MigrateResult, error) {
	var res MigrateResult
	data := queries.Data{DB: c.DB, Cluster: opts.Cluster}
	for _, name := range []string{"migrate/create_database.sql", "migrate/schema_migrations.sql"} {
		stmt, err := queries.Render(name, data)
		if err != nil {
			return res, err
		}
		if err := c.Conn.Exec(ctx, stmt); err != nil {
			return res, fmt.Errorf("prepare schema_migrations (%s): %w", name, err)
		}
	}
	applied, err := c.appliedMigrations(ctx)
	if err != nil {
		return res, err
	}
	migs, err := queries.Migrations()
	if err != nil {
		return res, err
	}
	for _, m := range migs {
		text, err := queries.Render(m.Up, data)
		if err != nil {
			return res, err
		}
		sum := checksum(text)
		if prev, ok := applied[m.Version]; ok {
			if prev != sum && opts.Cluster == "" {
				return res, fmt.Errorf("migration %04d_%s was applied with checksum %s but the file now gives %s: add a new migration instead of editing an applied one", m.Version, m.Name, prev, sum)
			}
			res.Current = m.Version
			continue
		}
		for i, stmt := range splitStatements(text) {
			if err := c.Conn.Exec(ctx, stmt); err != nil {
				return res, fmt.Errorf("apply %s statement %d: %w", m.Up, i+1, err)
			}
		}
		if err := c.recordMigration(ctx, m, sum); err != nil {
			return res, err
		}
		res.Applied = append(res.Applied, m)
		res.Current = m.Version
	}
	return res, nil
}

func (c *Client) recordMigration(ctx context.Context, m queries.Migration, sum string) error {
	insert, err := c.InsertSQL("migrate/record_migration.sql")
	if err != nil {
		return err
	}
	batch, err := c.Conn.PrepareBatch(ctx, insert)
	if err != nil {
		return fmt.Errorf("record migration %04d: %w", m.Version, err)
	}
	defer func() { _ = batch.Close() }()
	if err := batch.Append(uint32(m.Version), m.Name, sum, time.Now()); err != nil {
		return fmt.Errorf("record migration %04d: %w", m.Version, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("record migration %04d: %w", m.Version, err)
	}
	return nil
}

func (c *Client) appliedMigrations(ctx context.Context) (map[int]string, error) {
	rows, err := c.Query(ctx, "migrate/applied_migrations.sql", nil)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	out := map[int]string{}
	for rows.Next() {
		var v uint32
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, fmt.Errorf("scan schema_migrations: %w", err)
		}
		out[int(v)] = sum
	}
	return out, rows.Err()
}

// RenderMigrations returns the DDL Migrate would run, for review or for
// running by hand on a cluster (`analyze migrate --print`).
func RenderMigrations(db, cluster string) ([]string, error) {
	migs, err := queries.Migrations()
	if err != nil {
		return nil, err
	}
	data := queries.Data{DB: db, Cluster: cluster}
	create, err := queries.Render("migrate/create_database.sql", data)
	if err != nil {
		return nil, err
	}
	out := []string{dropComments(create)}
	for _, m := range migs {
		text, err := queries.Render(m.Up, data)
		if err != nil {
			return nil, err
		}
		out = append(out, splitStatements(text)...)
	}
	return out, nil
}

// MigrationScript is RenderMigrations as one script, every statement
// ended by a semicolon (`analyze migrate --print`).
func MigrationScript(db, cluster string) (string, error) {
	stmts, err := RenderMigrations(db, cluster)
	if err != nil {
		return "", err
	}
	return strings.Join(stmts, ";\n\n") + ";", nil
}

// splitStatements splits a migration on semicolons at line ends; comments
// stay with their statement.
func splitStatements(text string) []string {
	var out []string
	for _, part := range strings.Split(text, ";\n") {
		p := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(part), ";"))
		if p != "" && !onlyComments(p) {
			out = append(out, p)
		}
	}
	return out
}

func onlyComments(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		l := strings.TrimSpace(line)
		if l != "" && !strings.HasPrefix(l, "--") {
			return false
		}
	}
	return true
}
