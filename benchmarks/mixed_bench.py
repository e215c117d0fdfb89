"""Benchmark: linear mixed models, panelre vs statsmodels MixedLM vs R lme4.

Seeded synthetic panels with G groups x 10 observations (G = 10^3, 10^4, 10^5),
``y = 1 + 2x + b0_g + b1_g x + e``; two models, a random intercept ``y ~ x + (1 | g)`` and a
correlated random slope ``y ~ x + (x | g)``, both by REML. Every fit runs in its own
subprocess; only the fit call is timed (reading the data is not), and the child reports its
peak resident memory (``resource.getrusage`` in Python, ``VmHWM`` in R — both include the
interpreter and the data). Times are medians over repetitions (fewer repetitions for slow
fits). A tool whose fit exceeds the time limit (default 120 s) is not run at larger sizes.
lme4 runs with its default control settings, as a user would call it.

Usage::

    python benchmarks/mixed_bench.py [--sizes 1000 10000 100000] [--timeout 120]

Writes ``benchmarks/results/mixed.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from repeat import cell, raw_results, repeat_fit  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "mixed.md"
MODELS = {"intercept": "y ~ x + (1 | g)", "slope": "y ~ x + (x | g)"}
SEED = 20240601
PER_GROUP = 10

R_CHILD = r"""
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
f <- as.formula(args[2])
t0 <- proc.time()[["elapsed"]]
m <- lmer(f, data = d, REML = TRUE)
t1 <- proc.time()[["elapsed"]]
hwm <- grep("VmHWM", readLines("/proc/self/status"), value = TRUE)
kb <- as.numeric(gsub("[^0-9]", "", hwm))
cat(sprintf('{"seconds": %.6f, "peak_mb": %.1f, "reml": %.10f}\n', t1 - t0, kb / 1024,
            REMLcrit(m)))
"""


def make_data(n_groups: int, path: Path) -> None:
    """Seeded panel: random intercept sd 1, random slope sd 0.5, correlation 0.3."""
    rng = np.random.default_rng(SEED + n_groups)
    g = np.repeat(np.arange(n_groups), PER_GROUP)
    x = rng.normal(size=g.size)
    cov = np.array([[1.0, 0.15], [0.15, 0.25]])
    b = rng.multivariate_normal([0.0, 0.0], cov, size=n_groups)
    y = 1.0 + 2.0 * x + b[g, 0] + b[g, 1] * x + rng.normal(size=g.size)
    pd.DataFrame({"g": g, "x": x, "y": y}).to_csv(path, index=False, float_format="%.10g")


# ----------------------------------------------------------------------------- children
def child(tool: str, model: str, data: str) -> None:
    """Run one fit and print a JSON line with seconds and peak memory."""
    import resource
    import warnings

    warnings.simplefilter("ignore")
    df = pd.read_csv(data)
    if tool == "panelre":
        from panelre.mixed import mixed

        t0 = time.perf_counter()
        res = mixed(MODELS[model], df, reml=True)
        seconds = time.perf_counter() - t0
        crit = res.reml_criterion
    else:
        import statsmodels.formula.api as smf

        t0 = time.perf_counter()
        re_formula = "~x" if model == "slope" else "1"
        fit = smf.mixedlm("y ~ x", df, groups=df["g"], re_formula=re_formula).fit(reml=True)
        seconds = time.perf_counter() - t0
        crit = -2 * fit.llf
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "reml": float(crit)}))


def run_child(tool: str, model: str, data: Path, timeout: float) -> dict | None:
    if tool == "lme4":
        cmd = ["Rscript", "-e", R_CHILD, str(data), MODELS[model]]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", tool, model, str(data)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{tool} failed on {data}: {exc.stderr[-2000:]}") from exc
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- driver
def bench_tool(tool, model, data, timeout, max_reps) -> dict:
    def once() -> dict:
        got = run_child(tool, model, data, timeout)
        if got is None:
            return {"status": f"> {timeout:g} s (timed out)"}
        return {"status": "ok", **got}

    return repeat_fit(once, max_reps)


def _skip_reason(last: dict | None, n_groups: int, timeout: float) -> str | None:
    """Skip a fit that timed out at a smaller size or whose linear projection exceeds it."""
    if last is None:
        return None
    if last["status"] != "ok":
        return f"skipped (> {timeout:g} s at a smaller size)"
    projected = last["seconds"] * n_groups / last["groups"]
    if projected > timeout:
        return (
            f"skipped (projected {projected:.0f} s > {timeout:g} s, linear from "
            f"{last['seconds']:.1f} s at {last['groups']} groups)"
        )
    return None


def run(sizes, timeout, reps, tools) -> list[dict]:
    rows = []
    last: dict[tuple[str, str], dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n_groups in sorted(sizes):
            data = Path(tmp) / f"panel_{n_groups}.csv"
            make_data(n_groups, data)
            for model in MODELS:
                for tool in tools:
                    key = (tool, model)
                    reason = _skip_reason(last.get(key), n_groups, timeout)
                    if reason is not None:
                        result = {"status": reason}
                    else:
                        print(f"{tool:12s} {model:9s} G={n_groups:>7d} ...", end=" ", flush=True)
                        result = bench_tool(tool, model, data, timeout, reps)
                        print(result.get("seconds", result["status"]), flush=True)
                        last[key] = {**result, "groups": n_groups}
                    rows.append({"groups": n_groups, "model": model, "tool": tool, **result})
    return rows


def to_markdown(rows: list[dict], tools: list[str], timeout: float) -> str:
    table = {(r["groups"], r["model"], r["tool"]): r for r in rows}
    lines = [
        "# Linear mixed models: panelre vs statsmodels MixedLM vs lme4",
        "",
        f"Generated by `benchmarks/mixed_bench.py` on {time.strftime('%Y-%m-%d')} "
        f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, numpy {np.__version__}).",
        "Models: intercept = `y ~ x + (1 \\| g)`, slope = `y ~ x + (x \\| g)` (correlated); "
        f"synthetic panels, {PER_GROUP} observations per group, seed {SEED} + G; REML. Time of "
        "the fit call only (median over repetitions, fewer for slow fits); peak RSS of the "
        "child process (interpreter + data + fit). Each fit in its own subprocess; a tool "
        f"whose fit exceeded {timeout:g} s, or would by linear extrapolation from the previous "
        "size, is not run. Times below ~0.1 s are sensitive to other load on the machine.",
        "",
        "| model | groups | rows | "
        + " | ".join(f"{t} s" for t in tools)
        + " | "
        + " | ".join(f"{t} MB" for t in tools)
        + " | speed-up vs statsmodels"
        " | speed-up vs lme4 |",
        "|---|---:|---:|" + "---:|" * (2 * len(tools) + 2),
    ]
    for model in MODELS:
        for g in sorted({r["groups"] for r in rows}):
            cells = [table.get((g, model, t)) for t in tools]
            times = [cell(c, "seconds", 3) for c in cells]
            mems = [cell(c, "peak_mb", 0) for c in cells]
            ratios = [_ratio(table, g, model, other) for other in ("statsmodels", "lme4")]
            lines.append(
                f"| {model} | {g} | {g * PER_GROUP} | "
                + " | ".join(times)
                + " | "
                + " | ".join(mems)
                + " | "
                + " | ".join(ratios)
                + " |"
            )
    lines += [
        "",
        "Largest relative difference of the REML criterion from panelre's, over all "
        f"rows and tools: {_max_criterion_gap(rows):.1e} (for statsmodels, −2·llf of "
        "its REML fit).",
        *raw_results(rows),
    ]
    return "\n".join(lines)


def _max_criterion_gap(rows: list[dict]) -> float:
    mine = {
        (r["groups"], r["model"]): r["reml"]
        for r in rows
        if r["tool"] == "panelre" and r["status"] == "ok"
    }
    gaps = [
        abs(r["reml"] - mine[(r["groups"], r["model"])]) / abs(mine[(r["groups"], r["model"])])
        for r in rows
        if r["status"] == "ok" and (r["groups"], r["model"]) in mine
    ]
    return max(gaps, default=float("nan"))


def _ratio(table, g, model, other) -> str:
    mine, theirs = table.get((g, model, "panelre")), table.get((g, model, other))
    if not mine or not theirs or mine["status"] != "ok":
        return "—"
    if theirs["status"] != "ok":
        return "n/a (not run)"
    return f"{theirs['seconds'] / mine['seconds']:.0f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tools", nargs="+", default=["panelre", "statsmodels", "lme4"])
    parser.add_argument("--child", nargs=3, metavar=("TOOL", "MODEL", "DATA"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    tools = [t for t in args.tools if t != "lme4" or shutil.which("Rscript")]
    if "lme4" in args.tools and "lme4" not in tools:
        print("Rscript not found: lme4 is not benchmarked.")
    rows = run(args.sizes, args.timeout, args.reps, tools)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(to_markdown(rows, tools, args.timeout), encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
