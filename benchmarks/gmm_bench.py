"""Difference GMM: panelre's ``pr.gmm`` against R plm's ``pgmm``, side by side.

A simulated dynamic panel, ``y_it = 0.5 y_i,t-1 + 0.3 x_it + a_i + e_it`` with T = 10
periods, is fitted by two-step difference GMM with all available lags of y as GMM-style
instruments and x as a standard instrument (Windmeijer-corrected robust SEs, AR tests,
Hansen J), by both tools, each fit in its own process; only the fit is timed (reading the
data is not), and the peak resident memory of the process is reported (VmHWM). The two
tools' coefficients are compared in the last column.

    python benchmarks/gmm_bench.py                    # 10^3, 10^4, 10^5 firms
    python benchmarks/gmm_bench.py --firms 1000 10000 --reps 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
FORMULA = "y ~ lag(y, 1) + x"
R_CHILD = r"""
suppressPackageStartupMessages(library(plm))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
t0 <- proc.time()[["elapsed"]]
m <- pgmm(y ~ lag(y, 1) + x | lag(y, 2:99), data = d, index = c("id", "t"),
          effect = "individual", model = "twosteps")
s <- summary(m, robust = TRUE)
elapsed <- proc.time()[["elapsed"]] - t0
status <- readLines("/proc/self/status")
hwm <- as.numeric(gsub("[^0-9]", "", status[grepl("^VmHWM", status)])) / 1024
cat(sprintf('{"status": "ok", "seconds": %.6f, "peak_mb": %.1f, "params": [%s]}\n',
            elapsed, hwm, paste(sprintf("%.12g", coef(m)), collapse = ", ")))
"""


def simulate(firms: int, periods: int = 10, seed: int = 1) -> pd.DataFrame:
    """A stationary AR(1) panel with a fixed effect and one exogenous regressor."""
    rng = np.random.default_rng(seed)
    burn = 20
    a = rng.normal(size=firms)
    x = rng.normal(size=(firms, periods + burn))
    y = np.zeros((firms, periods + burn))
    for t in range(1, periods + burn):  # a loop over periods of the simulation
        y[:, t] = 0.5 * y[:, t - 1] + 0.3 * x[:, t] + a + rng.normal(size=firms)
    keep = slice(burn, burn + periods)
    return pd.DataFrame(
        {
            "id": np.repeat(np.arange(firms), periods),
            "t": np.tile(np.arange(periods), firms),
            "y": y[:, keep].ravel(),
            "x": x[:, keep].ravel(),
        }
    )


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(path: str) -> None:
    """Fit with panelre in this process and print one JSON line."""
    import panelre as pr

    data = pd.read_csv(path)
    start = time.perf_counter()
    res = pr.gmm(FORMULA, data, entity="id", time="t", gmm={"y": (2, None)})
    _ = res.ar_tests, res.hansen
    seconds = time.perf_counter() - start
    print(json.dumps({"status": "ok", "seconds": seconds, "peak_mb": _vm_hwm_mb(),
                      "params": res.params.tolist()}))  # fmt: skip


def run_child(tool: str, path: Path, timeout: float) -> dict:
    if tool == "panelre":
        cmd = [sys.executable, __file__, "--child", str(path)]
    else:
        cmd = ["Rscript", "-e", R_CHILD, str(path)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout {timeout:.0f}s"}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"status": "failed", "error": out.stderr[-500:]}
    return json.loads(lines[-1])


def bench(tool: str, path: Path, reps: int, timeout: float) -> dict:
    runs = []
    for _ in range(reps):
        got = run_child(tool, path, timeout)
        if got["status"] != "ok":
            return got
        runs.append(got)
        if got["seconds"] > 20:
            break
    return {
        "status": "ok",
        "seconds": statistics.median(r["seconds"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
        "params": runs[0]["params"],
        "reps": len(runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child")
    parser.add_argument("--firms", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--output", default=str(HERE / "results" / "gmm.md"))
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    tools = ["panelre"] + (["pgmm"] if shutil.which("Rscript") else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for firms in args.firms:
            path = Path(tmp) / f"panel_{firms}.csv"
            simulate(firms).to_csv(path, index=False)
            row = {"firms": firms}
            for tool in tools:
                row[tool] = bench(tool, path, args.reps, args.timeout)
                print(firms, tool, {k: v for k, v in row[tool].items() if k != "params"})
            rows.append(row)
    lines = [
        "# Difference GMM: panelre vs R plm pgmm",
        "",
        "Two-step difference GMM of `y ~ lag(y, 1) + x` with all lags of y from 2 as GMM",
        "instruments (T = 10 periods, 37 instruments), Windmeijer-corrected robust SEs, AR",
        "tests and Hansen J; each fit in its own process, median of up to "
        f"{args.reps} runs; peak = the process's peak resident memory.",
        "",
        "| firms | rows | panelre s | pgmm s | ratio | panelre peak MB | pgmm peak MB "
        "| max rel. diff |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ours, theirs = row["panelre"], row.get("pgmm", {"status": "not run"})
        ok = ours["status"] == "ok" and theirs["status"] == "ok"
        ratio = f"{theirs['seconds'] / ours['seconds']:.1f}×" if ok else "—"
        diff = (
            f"{np.max(np.abs(np.array(ours['params']) / np.array(theirs['params']) - 1)):.1e}"
            if ok
            else "—"
        )

        def cell(r: dict, key: str, digits: int) -> str:
            return f"{r[key]:.{digits}f}" if r["status"] == "ok" else r["status"]

        lines.append(
            f"| {row['firms']:,} | {10 * row['firms']:,} | {cell(ours, 'seconds', 2)} | "
            f"{cell(theirs, 'seconds', 2)} | {ratio} | {cell(ours, 'peak_mb', 0)} | "
            f"{cell(theirs, 'peak_mb', 0)} | {diff} |"
        )
    Path(args.output).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
