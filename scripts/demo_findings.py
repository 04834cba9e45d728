#!/usr/bin/env python3
"""Prints the three most important findings of a `make demo` run.

Reads the report that `analyze report --out DIR` wrote: report.json when
present (a "findings" list, ranked, each with a title or summary), else the
first three items of the "Findings" section of report.md. When neither
exists yet, it says so and prints what the simulated system itself counted
(system-status.json), so the demo still ends with a summary.
"""
import json
import os
import re
import sys


def from_json(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    findings = doc.get("findings") if isinstance(doc, dict) else None
    if not isinstance(findings, list):
        return []
    def rank(x):
        r = x.get("rank", x.get("priority"))
        return r if isinstance(r, (int, float)) else 1e9
    findings = sorted((x for x in findings if isinstance(x, dict)), key=rank)
    out = []
    for x in findings[:3]:
        text = x.get("title") or x.get("summary") or x.get("text") or json.dumps(x)
        sev = x.get("severity")
        out.append(f"[{sev}] {text}" if sev else text)
    return out


def from_markdown(path):
    with open(path, encoding="utf-8") as f:
        md = f.read()
    m = re.search(r"^#+\s*(?:Key |Top )?Findings[^\n]*\n(.*?)(?=^#+\s|\Z)", md, re.M | re.S | re.I)
    if not m:
        return []
    items = re.findall(r"^\s*(?:[-*]|\d+\.)\s+(.+)$", m.group(1), re.M)
    return items[:3]


def main(out_dir):
    findings = []
    for name, reader in (("report.json", from_json), ("report.md", from_markdown)):
        p = os.path.join(out_dir, name)
        if os.path.exists(p):
            findings = reader(p)
            if findings:
                break
    if findings:
        for i, f in enumerate(findings, 1):
            print(f"  {i}. {f}")
        return 0
    print("  (no report with findings yet: `analyze report` is not available in this build)")
    p = os.path.join(out_dir, "system-status.json")
    if os.path.exists(p):
        with open(p, encoding="utf-8") as f:
            s = json.load(f)["stats"]
        print("  What the simulated system counted during the demo:")
        print(f"  1. checkout: {s['PagesExperimentFailed']} of {s['PagesExperiment']} experiment-cohort page loads failed "
              f"({s['PagesFailed']} of {s['Pages']} overall): payment is a hard dependency")
        print(f"  2. publish: {s['PublishesLost']} of {s['Publishes']} publishes were lost after content.transformed")
        firing = ", ".join(s.get("Firing") or []) or "none at the end"
        print(f"  3. alerts: CheckoutErrorRateHigh (page) never fired; firing at the end: {firing}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "out/demo"))
