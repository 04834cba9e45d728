#!/usr/bin/env python3
"""Generate reference.json: expected values for pipeline/stats tests.

How reference.json was generated:
    python3 pipeline/stats/testdata/gen_reference.py
with Python 3, SciPy 1.17.1 and NumPy 2.4.6 (the versions are also written
into the JSON). Only SciPy and NumPy are needed. Formulas that SciPy does not
provide (Wilson interval as in statsmodels' proportion_confint(method="wilson"),
Newcombe's hybrid score interval (method 10), Holm adjustment, order-statistic
quantile intervals) are written out by hand below from their published
definitions; everything else calls SciPy directly.

The output is deterministic (fixed inputs and a seeded NumPy generator), so
re-running the script with the same SciPy version reproduces the file.
"""

import json
import os
import platform

import numpy as np
import scipy
from scipy import special, stats


def wilson(x, n, conf):
    """statsmodels proportion_confint(method='wilson'), written out."""
    q = x / n
    crit = stats.norm.isf((1 - conf) / 2)
    crit2 = crit**2
    denom = 1 + crit2 / n
    center = (q + crit2 / (2 * n)) / denom
    dist = crit * np.sqrt(q * (1 - q) / n + crit2 / (4 * n**2)) / denom
    lo, hi = center - dist, center + dist
    if x == 0:
        lo = 0.0
    if x == n:
        hi = 1.0
    return float(lo), float(hi)


def newcombe(x1, n1, x2, n2, conf):
    """Newcombe (1998) method 10 for p2 - p1 (experiment minus control)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, conf)
    l2, u2 = wilson(x2, n2, conf)
    d = p2 - p1
    lo = d - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    hi = d + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return float(lo), float(hi)


def holm(p):
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    out = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def quantile_ci_indices(n, q, conf):
    """1-based order-statistic indices (None when unbounded), brute force."""
    tail = (1 - conf) / 2
    lower = None
    for k in range(1, n + 1):  # X_(k) misses below with prob P(B <= k-1)
        if stats.binom.cdf(k - 1, n, q) <= tail:
            lower = k
    upper = None
    for k in range(1, n + 1):  # X_(k) misses above with prob 1 - P(B <= k-1)
        if stats.binom.cdf(k - 1, n, q) >= 1 - tail:
            upper = k
            break
    return lower, upper


def main():
    rng = np.random.default_rng(20240601)
    ref = {
        "generated_by": "pipeline/stats/testdata/gen_reference.py",
        "python": platform.python_version(),
        "scipy": scipy.__version__,
        "numpy": np.__version__,
    }

    # Fisher exact: (x1, n1) control, (x2, n2) experiment.
    fisher_cases = [
        (0, 1000, 3, 1000), (0, 1000, 5, 1000), (0, 1000, 8, 1000),
        (0, 50, 4, 50), (1, 20, 7, 20), (3, 12, 0, 9), (2, 10, 2, 10),
        (5, 5, 0, 5), (3, 7, 1, 9), (10, 1000, 20, 1000),
        (100, 10000, 130, 10000), (12, 95000, 8, 5000), (95, 95000, 10, 5000),
        (500, 50000, 560, 50000), (1, 1, 0, 1), (7, 300, 7, 300),
        (40, 2000, 10, 2000),
    ]
    ref["fisher"] = []
    for x1, n1, x2, n2 in fisher_cases:
        table = [[x2, n2 - x2], [x1, n1 - x1]]
        ref["fisher"].append({
            "x1": x1, "n1": n1, "x2": x2, "n2": n2,
            "p_two_sided": float(stats.fisher_exact(table, "two-sided").pvalue),
            "p_greater": float(stats.fisher_exact(table, "greater").pvalue),
            "p_less": float(stats.fisher_exact(table, "less").pvalue),
        })

    # Above the exact-support limit (100000 tables) the Go code switches to
    # the pooled score test: compared with SciPy's exact p at 2% relative.
    ref["fisher_large"] = []
    for x1, n1, x2, n2 in [(60000, 200000, 60500, 200000), (120000, 400000, 119000, 400000)]:
        table = [[x2, n2 - x2], [x1, n1 - x1]]
        ref["fisher_large"].append({
            "x1": x1, "n1": n1, "x2": x2, "n2": n2,
            "p_two_sided": float(stats.fisher_exact(table, "two-sided").pvalue),
            "p_greater": float(stats.fisher_exact(table, "greater").pvalue),
            "p_less": float(stats.fisher_exact(table, "less").pvalue),
        })

    # Wilson and Newcombe intervals.
    ref["wilson"] = []
    for x, n, conf in [(0, 10, 0.95), (1, 10, 0.95), (5, 10, 0.9), (10, 10, 0.95),
                       (3, 1000, 0.95), (50, 1000, 0.99), (1, 1, 0.95), (123, 4567, 0.9)]:
        lo, hi = wilson(x, n, conf)
        ref["wilson"].append({"x": x, "n": n, "confidence": conf, "lower": lo, "upper": hi})
    ref["newcombe"] = []
    for x1, n1, x2, n2, conf in [(0, 1000, 3, 1000, 0.95), (0, 10, 0, 10, 0.95),
                                 (10, 1000, 20, 1000, 0.9), (5, 56, 8, 48, 0.95),
                                 (9, 10, 1, 10, 0.95), (95, 95000, 10, 5000, 0.9)]:
        lo, hi = newcombe(x1, n1, x2, n2, conf)
        ref["newcombe"].append({"x1": x1, "n1": n1, "x2": x2, "n2": n2,
                                "confidence": conf, "lower": lo, "upper": hi})

    # Mann-Whitney U, asymptotic with tie and continuity correction.
    mw = []

    def add_mw(control, experiment, method):
        control = [float(v) for v in control]
        experiment = [float(v) for v in experiment]
        res = {"control": control, "experiment": experiment, "method": method}
        for alt, key in [("two-sided", "p_two_sided"), ("greater", "p_greater"), ("less", "p_less")]:
            r = stats.mannwhitneyu(experiment, control, alternative=alt, method=method,
                                   use_continuity=True)
            res[key] = float(r.pvalue)
            res["u"] = float(r.statistic)
        mw.append(res)

    lat_c = np.round(rng.lognormal(4.0, 0.5, 300))
    lat_e = np.round(rng.lognormal(4.1, 0.5, 250))
    add_mw(lat_c, lat_e, "asymptotic")
    add_mw(np.round(rng.normal(100, 10, 40)), np.round(rng.normal(100, 10, 35)), "asymptotic")
    add_mw([1, 1, 2, 2, 3, 3, 3], [2, 3, 3, 4, 4, 5], "asymptotic")
    add_mw(np.round(rng.exponential(20, 1500)), np.round(rng.exponential(20, 1200)), "asymptotic")
    add_mw(rng.normal(0, 1, 25), rng.normal(0.5, 1, 30), "asymptotic")
    # Exact (no ties, small samples).
    add_mw([1.5, 2.5, 3.5], [4.5, 5.5], "exact")
    add_mw(rng.normal(0, 1, 7), rng.normal(1, 1, 5), "exact")
    add_mw(rng.normal(0, 1, 12), rng.normal(0.3, 1, 10), "exact")
    add_mw(rng.normal(0, 1, 20), rng.normal(0.4, 1, 20), "exact")
    add_mw(rng.normal(0, 1, 20), rng.normal(-0.2, 1, 17), "exact")
    ref["mannwhitney"] = mw

    # Chi-square goodness of fit (SRM).
    ref["chisquare"] = []
    for obs, shares in [([5000, 5000], [0.5, 0.5]), ([5500, 4500], [0.5, 0.5]),
                        ([9500, 520], [0.95, 0.05]), ([18950, 1050], [0.95, 0.05]),
                        ([100, 120, 80], [1 / 3, 1 / 3, 1 / 3]), ([1, 0], [0.5, 0.5]),
                        ([0, 10], [0.9, 0.1]), ([1003, 997], [0.5, 0.5])]:
        obs_a = np.asarray(obs, dtype=float)
        exp_a = obs_a.sum() * np.asarray(shares)
        r = stats.chisquare(obs_a, f_exp=exp_a)
        ref["chisquare"].append({"observed": obs, "shares": shares,
                                 "statistic": float(r.statistic), "p": float(r.pvalue)})

    # Multiple comparisons.
    ref["adjust"] = []
    for p in [[0.01, 0.04, 0.03, 0.2], [0.001, 0.5, 0.02, 0.02, 0.049, 1.0],
              [0.3], [0.0, 0.05, 0.05, 0.8, 0.011]]:
        ref["adjust"].append({"p": p, "holm": holm(p),
                              "bh": stats.false_discovery_control(p, method="bh").tolist()})

    # Special functions.
    ref["gammaincc"] = [{"a": a, "x": x, "q": float(special.gammaincc(a, x))}
                        for a, x in [(0.5, 0.1), (0.5, 10.0), (1.0, 1.0), (2.5, 3.0),
                                     (10.0, 25.0), (100.0, 90.0), (0.5, 60.0)]]
    ref["betainc"] = [{"a": a, "b": b, "x": x, "i": float(special.betainc(a, b, x))}
                      for a, b, x in [(1.0, 1.0, 0.3), (2.0, 3.0, 0.4), (0.5, 0.5, 0.9),
                                      (50.0, 60.0, 0.45), (1000.0, 10.0, 0.99)]]
    ref["binom_cdf"] = [{"k": k, "n": n, "p": p, "cdf": float(stats.binom.cdf(k, n, p))}
                        for k, n, p in [(0, 10, 0.1), (3, 10, 0.5), (80, 100, 0.9),
                                        (940, 1000, 0.95), (9, 1000, 0.01)]]
    ref["norm_ppf"] = [{"p": p, "z": float(stats.norm.ppf(p))}
                       for p in [1e-12, 0.001, 0.025, 0.5, 0.9, 0.975, 1 - 1e-9]]

    # Quantiles (NumPy linear = type 7) and order-statistic intervals.
    sample = np.round(rng.lognormal(4.0, 0.6, 400), 3)
    ref["quantile"] = {"data": sample.tolist(), "cases": []}
    for q, conf in [(0.5, 0.95), (0.95, 0.95), (0.99, 0.9), (0.999, 0.95), (0.1, 0.99)]:
        lo, hi = quantile_ci_indices(len(sample), q, conf)
        ref["quantile"]["cases"].append({
            "q": q, "confidence": conf,
            "estimate": float(np.quantile(sample, q)),
            "lower_index": lo, "upper_index": hi,
        })

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.json")
    with open(out, "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
