package retention

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// ParseAge reads a retention age: a duration ("720h") or whole days
// ("30d").
func ParseAge(s string) (time.Duration, error) {
	var n int
	if _, err := fmt.Sscanf(s, "%dd", &n); err == nil && fmt.Sprintf("%dd", n) == s {
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration like 30d or 720h")
	}
	return d, nil
}

// Ages are the ages of `analyze retention apply --raw, --views and
// --cache` as written ("" keeps the config's age).
type Ages struct{ Raw, Views, Cache string }

// SetAges parses the ages given (ParseAge) into c; a bad one is an error
// naming its flag.
func (c *Config) SetAges(a Ages) error {
	for _, x := range []struct {
		flag, v string
		d       *time.Duration
	}{{"raw", a.Raw, &c.Raw}, {"views", a.Views, &c.Views}, {"cache", a.Cache, &c.Cache}} {
		if x.v == "" {
			continue
		}
		d, err := ParseAge(x.v)
		if err != nil {
			return fmt.Errorf("--%s %q: %w", x.flag, x.v, err)
		}
		*x.d = d
	}
	return nil
}

// WriteDrops writes what Apply dropped (or, dryRun, would drop) in db:
// one line per partition, or one JSON object {"dry_run", "dropped"}.
// applyErr is Apply's error: the drops before it are still written, and it
// is returned.
func WriteDrops(w io.Writer, db string, drops []Drop, dryRun, asJSON bool, applyErr error) error {
	if asJSON {
		if drops == nil {
			drops = []Drop{}
		}
		b, err := json.MarshalIndent(map[string]any{"dry_run": dryRun, "dropped": drops}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(w, string(b))
		return applyErr
	}
	verb := "dropped"
	if dryRun {
		verb = "would drop"
	}
	for _, d := range drops {
		fmt.Fprintf(w, "%s %s.%s partition %d\n", verb, db, d.Table, d.Day)
	}
	if applyErr == nil && len(drops) == 0 {
		fmt.Fprintln(w, "nothing older than the retention ages")
	}
	return applyErr
}
