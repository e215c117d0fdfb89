"""Benchmark: mixed models with crossed grouping factors, panelre vs R lme4 vs statsmodels.

Cases, all fitted by REML:

* **InstEval** (lme4's teaching-evaluation data, bundled as ``panelre.datasets.load("insteval")``,
  73,421 rows): ``y ~ service + (1 | s) + (1 | d) + (1 | dept:service)`` — students ×
  lecturers × department-by-service cells. ``service`` is the 0/1 numeric column in the fixed
  part in every program; R gets ``s``, ``d``, ``dept`` and a factor copy of ``service``
  (``service_f``, used only inside ``dept:service_f``) so lme4 fits the same model.
* **synthetic** seeded crossed designs ``y ~ x + (1 | a) + (1 | b)``: each row draws a uniform
  random level of ``a`` and of ``b``; ``x`` standard normal; ``y = 1 + 2x + u_a + v_b + e``
  with standard deviations 0.5, 0.3 and 1. Default sizes 10^5 rows with 10^4 × 10^2 levels and
  10^6 rows with 10^5 × 10^3 levels (seed ``SEED`` + rows + levels).

statsmodels has no crossed random effects as such: they are variance components of a single
all-ones group, ``MixedLM.from_formula("y ~ service", groups=np.ones(n), vc_formula={"s":
"0 + C(s)", "d": "0 + C(d)", "ds": "0 + C(ds)"}, ...)`` with ``ds`` the ``dept:service`` label
(built before the clock starts), ``fit(reml=True)`` — its default dense design, as a user would
call it. Its −2·llf of the REML fit is kept in the raw results but not compared (statsmodels
defines its REML log-likelihood its own way). lme4 runs ``lmer(f, data, REML = TRUE)`` with
default control.

Every fit runs in its own subprocess (its own process group); only the fit call is timed —
model construction included (panelre ``mixed``, ``lmer``, ``from_formula`` + ``fit``), reading
the CSV not. Each child prints one JSON line with ``seconds``, ``peak_mb`` (``VmHWM`` from
``/proc/self/status`` in both Python and R: peak RSS of that process, interpreter and data
included) and the criterion. Times are medians over repetitions (one repetition once a fit takes
over 20 s). Cases run in order of rows; a tool that timed out (default 300 s), ran out of memory
or failed is not run on larger cases, nor is one whose time projected linearly in rows from the
previous case exceeds the timeout. Every child gets an address-space cap (``--mem-limit-gb``,
default 60 % of RAM) so that a dense statsmodels design fails with ``MemoryError`` in its own
process instead of waking the kernel's OOM killer.

Usage::

    python benchmarks/crossed_bench.py                          # InstEval, 1e5 and 1e6 rows
    python benchmarks/crossed_bench.py --quick                  # InstEval and 1e5, 1 repetition
    python benchmarks/crossed_bench.py --sizes 1e4:1e3x1e2 --cases synthetic --reps 1
    python benchmarks/crossed_bench.py --tools panelre lme4 --timeout 600

``--sizes`` takes ``ROWS:LEVELS_AxLEVELS_B`` items. Writes ``benchmarks/results/crossed.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
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
RESULTS = HERE / "results" / "crossed.md"
SEED = 20240601
TOOLS = ("panelre", "lme4", "statsmodels")
DEFAULT_SIZES = ["1e5:1e4x1e2", "1e6:1e5x1e3"]
FORMULAS = {
    "insteval": "y ~ service + (1 | s) + (1 | d) + (1 | dept:service)",
    "synthetic": "y ~ x + (1 | a) + (1 | b)",
}
R_FORMULAS = {
    "insteval": "y ~ service + (1 | s) + (1 | d) + (1 | dept:service_f)",
    "synthetic": FORMULAS["synthetic"],
}
R_SETUP = {  # run before the clock starts
    "insteval": "d$s <- factor(d$s); d$d <- factor(d$d); d$dept <- factor(d$dept); "
    "d$service_f <- factor(d$service)",
    "synthetic": "d$a <- factor(d$a); d$b <- factor(d$b)",
}
SM_MODEL = {  # statsmodels: fixed formula and variance components of one all-ones group
    "insteval": ("y ~ service", {"s": "0 + C(s)", "d": "0 + C(d)", "ds": "0 + C(ds)"}),
    "synthetic": ("y ~ x", {"a": "0 + C(a)", "b": "0 + C(b)"}),
}

R_CHILD = r"""
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
eval(parse(text = args[3]))
f <- as.formula(args[2])
t0 <- proc.time()[["elapsed"]]
m <- lmer(f, data = d, REML = TRUE)
t1 <- proc.time()[["elapsed"]]
hwm <- grep("VmHWM", readLines("/proc/self/status"), value = TRUE)
kb <- as.numeric(gsub("[^0-9]", "", hwm))
cat(sprintf('{"seconds": %.6f, "peak_mb": %.1f, "reml": %.10f, "conv_messages": %d}\n',
            t1 - t0, kb / 1024, REMLcrit(m), length(m@optinfo$conv$lme4$messages)))
"""


# ----------------------------------------------------------------------------- data
def _count(text: str) -> int:
    return int(float(text))


def _short(n: int) -> str:
    """100000 -> "1e5"; other numbers with thousands separators."""
    k = len(str(n)) - 1
    return f"1e{k}" if n == 10**k else f"{n:,}"


def parse_size(text: str) -> tuple[int, int, int]:
    """``"1e5:1e4x1e2"`` -> (100000, 10000, 100)."""
    try:
        rows, levels = text.split(":")
        na, nb = levels.lower().split("x")
        return _count(rows), _count(na), _count(nb)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected ROWS:LEVELS_AxLEVELS_B, got {text!r}") from exc


def write_insteval(path: Path) -> dict:
    from panelre.datasets import load

    df = load("insteval")[["y", "service", "s", "d", "dept"]]
    df.to_csv(path, index=False)
    cells = df.groupby(["dept", "service"]).ngroups
    return {
        "case": "InstEval",
        "kind": "insteval",
        "rows": len(df),
        "levels": f"s {df['s'].nunique():,} × d {df['d'].nunique():,} × dept:service {cells}",
    }


def write_synthetic(rows: int, na: int, nb: int, path: Path) -> dict:
    rng = np.random.default_rng([SEED, rows, na, nb])
    a = rng.integers(na, size=rows)
    b = rng.integers(nb, size=rows)
    x = rng.normal(size=rows)
    u = rng.normal(scale=0.5, size=na)
    v = rng.normal(scale=0.3, size=nb)
    y = 1.0 + 2.0 * x + u[a] + v[b] + rng.normal(size=rows)
    pd.DataFrame({"y": y, "x": x, "a": a, "b": b}).to_csv(path, index=False, float_format="%.10g")
    return {
        "case": f"synthetic {_short(rows)}",
        "kind": "synthetic",
        "rows": rows,
        "levels": f"a {np.unique(a).size:,} × b {np.unique(b).size:,}",
    }


# ----------------------------------------------------------------------------- children
def _vm_hwm_mb() -> float:
    with open("/proc/self/status") as fh:
        line = next(ln for ln in fh if ln.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def child(tool: str, kind: str, data: str) -> None:
    """Run one fit and print a JSON line with seconds, peak memory and the criterion."""
    import warnings

    warnings.simplefilter("ignore")
    df = pd.read_csv(data)
    extra = {}
    if tool == "panelre":
        from panelre.mixed import mixed

        t0 = time.perf_counter()
        res = mixed(FORMULAS[kind], df, reml=True)
        seconds = time.perf_counter() - t0
        crit = res.reml_criterion
    else:
        from statsmodels.regression.mixed_linear_model import MixedLM

        if kind == "insteval":
            df["ds"] = df["dept"].astype(str) + ":" + df["service"].astype(str)
        warnings.simplefilter("ignore")  # statsmodels re-enables its warnings on import
        fixed, vcf = SM_MODEL[kind]
        groups = np.ones(len(df))
        t0 = time.perf_counter()
        model = MixedLM.from_formula(fixed, groups=groups, vc_formula=vcf, data=df)
        fit = model.fit(reml=True)
        seconds = time.perf_counter() - t0
        crit = -2 * fit.llf
        extra["converged"] = bool(fit.converged)
    out = {"seconds": seconds, "peak_mb": _vm_hwm_mb(), "reml": float(crit), **extra}
    print(json.dumps(out))


def run_child(tool: str, case: dict, timeout: float) -> dict:
    kind, data = case["kind"], case["path"]
    if tool == "lme4":
        cmd = ["Rscript", "-e", R_CHILD, str(data), R_FORMULAS[kind], R_SETUP[kind]]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", tool, kind, str(data)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the child's own process group only
        proc.communicate()
        return {"status": f"> {timeout:g} s (timed out)"}
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if proc.returncode == 0 and lines:
        return {"status": "ok", **json.loads(lines[-1])}
    tail = " | ".join(stderr.strip().splitlines()[-3:])
    if "MemoryError" in stderr or "cannot allocate" in stderr or proc.returncode == -signal.SIGKILL:
        return {"status": "out of memory", "error": tail}
    return {"status": f"failed (exit code {proc.returncode})", "error": tail}


# ----------------------------------------------------------------------------- driver
def bench_tool(tool: str, case: dict, timeout: float, max_reps: int) -> dict:
    return repeat_fit(lambda: run_child(tool, case, timeout), max_reps)


def _skip_reason(last: dict | None, rows: int, timeout: float) -> str | None:
    """Skip a fit that failed on a smaller case or whose projection (linear in rows) exceeds
    the timeout."""
    if last is None:
        return None
    if last["status"] != "ok":
        return f"skipped ({last['status']} on {last['case']})"
    projected = last["seconds"] * rows / last["rows"]
    if projected > timeout:
        return (
            f"skipped (projected {projected:.0f} s > {timeout:g} s, linear in rows from "
            f"{last['seconds']:.1f} s on {last['case']})"
        )
    return None


def run(
    cases: list[str], sizes: list[tuple[int, int, int]], timeout: float, reps: int, tools: list[str]
) -> list[dict]:
    rows = []
    last: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        prepared = []
        if "insteval" in cases:
            path = Path(tmp) / "insteval.csv"
            prepared.append({**write_insteval(path), "path": path})
        if "synthetic" in cases:
            for n, na, nb in sizes:
                path = Path(tmp) / f"crossed_{n}_{na}_{nb}.csv"
                prepared.append({**write_synthetic(n, na, nb, path), "path": path})
        for case in sorted(prepared, key=lambda c: c["rows"]):
            for tool in tools:
                reason = _skip_reason(last.get(tool), case["rows"], timeout)
                if reason is not None:
                    result = {"status": reason}
                else:
                    print(f"{tool:12s} {case['case']:16s} ...", end=" ", flush=True)
                    result = bench_tool(tool, case, timeout, reps)
                    print(
                        f"{result['seconds']:.3f} s"
                        if result["status"] == "ok"
                        else result["status"],
                        flush=True,
                    )
                    last[tool] = {**result, "case": case["case"], "rows": case["rows"]}
                rows.append(
                    {
                        "case": case["case"],
                        "rows": case["rows"],
                        "levels": case["levels"],
                        "tool": tool,
                        **result,
                    }
                )
    return rows


# ----------------------------------------------------------------------------- report
def _ratio(mine: dict | None, theirs: dict | None) -> str:
    if not mine or not theirs or mine["status"] != "ok":
        return "—"
    if theirs["status"] != "ok":
        return "n/a (not run)" if theirs["status"].startswith("skipped") else "n/a"
    r = theirs["seconds"] / mine["seconds"]
    return f"{r:.1f}×" if r < 10 else f"{r:.0f}×"


def _crit(row: dict | None) -> str:
    return "—" if not row or row["status"] != "ok" else f"{row['reml']:.6f}"


def _crit_gap(mine: dict | None, theirs: dict | None) -> str:
    if not mine or not theirs or mine["status"] != "ok" or theirs["status"] != "ok":
        return "—"
    return f"{abs(theirs['reml'] - mine['reml']) / abs(mine['reml']):.1e}"


def to_markdown(
    rows: list[dict], tools: list[str], timeout: float, reps: int, mem_limit_gb: float
) -> str:
    table = {(r["case"], r["tool"]): r for r in rows}
    cases = list(dict.fromkeys(r["case"] for r in rows))
    others = [t for t in tools if t != "panelre"]
    lines = [
        "# Crossed random effects: panelre vs lme4 vs statsmodels MixedLM",
        "",
        f"Generated by `benchmarks/crossed_bench.py` on {time.strftime('%Y-%m-%d')} "
        f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, numpy {np.__version__}).",
        "Models (REML): InstEval = `y ~ service + (1 \\| s) + (1 \\| d) + (1 \\| dept:service)` "
        "(73,421 rows, `service` 0/1 numeric in the fixed part); synthetic = "
        "`y ~ x + (1 \\| a) + (1 \\| b)`, uniform random levels, SDs 0.5 / 0.3 / 1, seeded. "
        "statsmodels: variance components of one all-ones group (dense design, default fit). "
        f"Time of the fit call only (median of up to {reps} repetition(s), one once a fit takes "
        "over 20 s); peak RSS (`VmHWM`) of the child process (interpreter + data + fit). Each "
        f"fit in its own subprocess, capped at {mem_limit_gb:.0f} GB of address space; a tool "
        f"that timed out ({timeout:g} s), ran out of memory or failed, or whose time projected "
        "linearly in rows exceeds the timeout, is not run on larger cases. Ratios are the "
        "other tool's time over panelre's. REML criterion: panelre's and lme4's side by side "
        "(statsmodels' −2·llf of its REML fit is only in the raw results).",
        "",
        "| case | rows | levels | "
        + " | ".join(f"{t} s" for t in tools)
        + " | "
        + " | ".join(f"{t} MB" for t in tools)
        + " | "
        + " | ".join(f"{t} / panelre" for t in others)
        + " | REML crit. panelre | REML crit. lme4 | rel. diff |",
        "|---|---:|---|" + "---:|" * (2 * len(tools) + len(others) + 3),
    ]
    for case in cases:
        cells = {t: table.get((case, t)) for t in tools}
        first = next(r for r in rows if r["case"] == case)
        mine, lme4 = cells.get("panelre"), table.get((case, "lme4"))
        lines.append(
            f"| {case} | {first['rows']:,} | {first['levels']} | "
            + " | ".join(cell(cells[t], "seconds", 3) for t in tools)
            + " | "
            + " | ".join(cell(cells[t], "peak_mb", 0) for t in tools)
            + " | "
            + " | ".join(_ratio(mine, cells[t]) for t in others)
            + f" | {_crit(mine)} | {_crit(lme4)} | {_crit_gap(mine, lme4)} |"
        )
    lines += raw_results(rows)
    return "\n".join(lines)


def _default_mem_limit_gb() -> float:
    with open("/proc/meminfo") as fh:
        total_kb = int(fh.readline().split()[1])
    return 0.6 * total_kb / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", nargs="+", choices=("insteval", "synthetic"), default=["insteval", "synthetic"]
    )
    parser.add_argument(
        "--sizes",
        type=parse_size,
        nargs="+",
        default=None,
        metavar="ROWS:AxB",
        help=f"synthetic sizes (default {DEFAULT_SIZES})",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per fit")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 5)")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument(
        "--quick", action="store_true", help="InstEval and the 1e5-row case only, 1 repetition"
    )
    parser.add_argument(
        "--mem-limit-gb",
        type=float,
        default=None,
        help="address-space cap per child (default 60%% of RAM)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="markdown output path")
    parser.add_argument("--child", nargs=3, metavar=("TOOL", "CASE", "DATA"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes = args.sizes or [parse_size(s) for s in DEFAULT_SIZES[: 1 if args.quick else None]]
    reps = args.reps or (1 if args.quick else 5)
    tools = [t for t in args.tools if t != "lme4" or shutil.which("Rscript")]
    if "lme4" in args.tools and "lme4" not in tools:
        print("Rscript not found: lme4 is not benchmarked.")
    mem_gb = args.mem_limit_gb or _default_mem_limit_gb()
    # Inherited by every child (this driver itself stays far below it).
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = int(mem_gb * 1024**3)
    soft = cap if hard == resource.RLIM_INFINITY else min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    rows = run(args.cases, sizes, args.timeout, reps, tools)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(to_markdown(rows, tools, args.timeout, reps, mem_gb), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
