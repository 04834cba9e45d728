#!/usr/bin/env python3
"""Runs Steadystate's SQL on a current ClickHouse engine (chDB, in-process).

Reads a JSON job on stdin:
  {"setup": [sql, ...], "insert": sql, "rows": path-to-ndjson,
   "queries": {name: sql, ...}}
runs the setup statements, inserts the rows (FORMAT JSONEachRow), runs every
query with FORMAT TSVWithNames, and prints {"version": ..., "results": {name: tsv},
"errors": {name: message}} as JSON. Used by queries/crosscheck_test.go to
compare answers with the ClickHouse 18.16 server.
"""
import json
import os
import sys
import tempfile

os.environ.setdefault("TZ", "UTC")

from chdb import session  # noqa: E402


def main() -> int:
    job = json.load(sys.stdin)
    out = {"results": {}, "errors": {}}
    with tempfile.TemporaryDirectory() as tmp:
        s = session.Session(tmp)
        out["version"] = str(s.query("SELECT version()", "TSV")).strip()
        for stmt in job["setup"]:
            s.query(stmt)
        with open(job["rows"], encoding="utf-8") as f:
            rows = f.read()
        s.query(job["insert"] + " FORMAT JSONEachRow\n" + rows)
        for name, sql in job["queries"].items():
            try:
                out["results"][name] = str(s.query(sql, "TSVWithNames"))
            except Exception as e:  # report per query, keep going
                out["errors"][name] = str(e)
        s.close()
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
