"""Panel benchmarks: panelre vs linearmodels vs pyfixest (what ``make bench`` runs).

Tasks (each on a balanced panel and on a 20 %-unbalanced one, ``N`` entities x 10 periods):

* ``fe1``  one-way entity fixed effects, entity-clustered standard errors
* ``re``   random effects (Swamy–Arora), entity-clustered standard errors
  (pyfixest has no random effects: "n/a")
* ``fe2``  two-way (entity + time) fixed effects, entity-clustered standard errors
* ``fe1w`` ``fe1`` with analytic weights that vary within entities (``panel_child.add_weights``);
  the report also gives panelre's weighted / unweighted time ratio

plus the "numpy floor" (entity means by ``np.bincount`` and the demeaned cross-products).

Every fit runs in its own subprocess (``panel_child.py``) so the reported peak RSS belongs
to that one fit; see that file for exactly what is timed. Results go to
``benchmarks/results/panel.md`` and ``panel.json`` (``panel-quick.*`` with ``--quick``).

Usage::

    .venv/bin/python benchmarks/run.py                     # sizes 1e4,1e5,1e6
    .venv/bin/python benchmarks/run.py --sizes 1e4,1e5     # a subset
    .venv/bin/python benchmarks/run.py --quick             # ~1 minute smoke run
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PY = sys.executable
LIBS = ("panelre", "linearmodels", "pyfixest")
TASKS = {
    "fe1": "One-way FE (entity), clustered by entity",
    "re": "Random effects (Swamy–Arora), clustered by entity",
    "fe2": "Two-way FE (entity + time), clustered by entity",
    "fe1w": "Weighted one-way FE (entity; analytic weights), clustered by entity",
}
RTOL = 1e-6


# --------------------------------------------------------------------------- running
def ensure_data(n: int, balanced: bool, seed: int, timeout: float) -> Path:
    """Generate the cached Parquet in a subprocess (keeps this process small: a child's
    ru_maxrss must not inherit a large parent's footprint)."""
    cmd = [PY, str(HERE / "data.py"), str(n), "--seed", str(seed)]
    cmd += [] if balanced else ["--unbalanced"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    return Path(out.stdout.strip().splitlines()[-1])


def run_child(lib: str, task: str, path: Path, timeout: float, extra: list[str]) -> dict:
    cmd = [PY, str(HERE / "panel_child.py"), lib, task, str(path), *extra]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {
            "lib": lib,
            "task": task,
            "status": "timeout",
            "error": f"timeout after {timeout:.0f} s",
        }
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        how = f"exit code {proc.returncode}"
        if proc.returncode < 0:
            how = f"killed by signal {-proc.returncode} (out of memory?)"
        return {"lib": lib, "task": task, "status": "error", "error": f"{how}: {' | '.join(tail)}"}
    res = json.loads(lines[-1][len("RESULT ") :])
    res["child_seconds"] = time.perf_counter() - start
    return res


def n_reps(n: int, lib: str, args: argparse.Namespace) -> int:
    if args.reps:
        return args.reps
    if n >= 1_000_000:
        return 2 if lib in ("panelre", "numpy", "numpy_crv") else 1
    return 3


def summarise(runs: list[dict]) -> dict:
    ok = [r for r in runs if r.get("status") == "ok"]
    if not ok:
        first = runs[0] if runs else {"status": "not run"}
        return {"status": first.get("status"), "error": first.get("error", "")}
    return {
        "status": "ok",
        "reps": len(ok),
        "seconds": statistics.median(r["seconds"] for r in ok),
        "seconds_all": [r["seconds"] for r in ok],
        "prep_seconds": statistics.median(r["prep_seconds"] for r in ok),
        "peak_mb": max(r["peak_mb"] for r in ok),
        "baseline_mb": statistics.median(r["baseline_mb"] for r in ok),
        "rows": ok[0]["rows"],
        **(
            {
                k: statistics.median(r[k] for r in ok)
                for k in ("cpu_user", "cpu_sys")
                if all(k in r for r in ok)
            }
        ),
        "names": ok[0]["names"],
        "params": ok[0]["params"],
        "std_errors": ok[0]["std_errors"],
        **({"params_stata": ok[0]["params_stata"]} if "params_stata" in ok[0] else {}),
    }


def rel_diff(a: dict, b: dict, key: str = "params", key_b: str = "params") -> float | None:
    if a.get("status") != "ok" or b.get("status") != "ok" or key not in a:
        return None
    pa = dict(zip(a["names"], a[key]))
    pb = dict(zip(b["names"], b[key_b]))
    common = [k for k in pa if k in pb]
    if not common:
        return None
    return max(abs(pa[k] - pb[k]) / max(abs(pb[k]), 1e-300) for k in common)


def agreement(cell: dict, task: str, balanced: bool) -> dict:
    pre, lm, pf = (cell.get(k, {}) for k in LIBS)
    out = {
        "vs_linearmodels": rel_diff(pre, lm),
        "vs_pyfixest": rel_diff(pre, pf),
        "se_vs_linearmodels": rel_diff(pre, lm, "std_errors", "std_errors"),
        "se_vs_pyfixest": rel_diff(pre, pf, "std_errors", "std_errors"),
    }
    if task == "re" and not balanced:
        out["stata_vs_linearmodels"] = rel_diff(pre, lm, "params_stata")
    key = (
        "stata_vs_linearmodels"
        if out.get("stata_vs_linearmodels") is not None
        else "vs_linearmodels"
    )
    d = out[key]
    out["ok"] = None if d is None else bool(d <= RTOL)
    out["compared"] = key
    return out


# --------------------------------------------------------------------------- reporting
def versions() -> dict:
    out = {}
    for pkg in (
        "panelre",
        "numpy",
        "scipy",
        "pandas",
        "formulaic",
        "pyarrow",
        "linearmodels",
        "pyfixest",
        "numba",
        "statsmodels",
    ):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            mem = round(int(fh.readline().split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        git = subprocess.run(
            ["git", "-C", str(HERE), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        git = ""
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "panelre_git": git or "unknown",
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions(),
    }


def fmt_s(c: dict | None) -> str:
    if not c:
        return "–"
    if c.get("status") != "ok":
        return {"n/a": "n/a", "timeout": "timeout"}.get(c.get("status"), "error")
    return f"{c['seconds']:.3g}" if c["seconds"] < 10 else f"{c['seconds']:.1f}"


def fmt_ratio(a: dict | None, b: dict | None) -> str:
    if not a or not b or a.get("status") != "ok" or b.get("status") != "ok":
        if a and a.get("status") == "timeout":
            t = a.get("error", "").split()[-2] if a.get("error") else "?"
            return f"> {float(t) / b['seconds']:.0f}×" if b and b.get("status") == "ok" else "–"
        return "–"
    return f"{a['seconds'] / b['seconds']:.1f}×"


def fmt_mb(c: dict | None) -> str:
    if not c or c.get("status") != "ok":
        return "–"
    return f"{c['peak_mb']:,.0f}"


def fmt_diff(x: float | None) -> str:
    return "–" if x is None else f"{x:.1e}"


def render(report: dict) -> str:
    m = report["machine"]
    v = m["versions"]
    lines = [
        "# Panel benchmarks: panelre vs linearmodels vs pyfixest",
        "",
        f"Generated by `benchmarks/run.py` on {m['date']}"
        + (" (**--quick**)" if report["quick"] else "")
        + ".",
        "",
        f"- Machine: {m['cpu']}, {m['cpu_count']} CPUs, {m['memory_gb']} GB RAM; "
        f"Python {m['python']} on {m['platform']}",
        "- Versions: "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + f" (panelre source: git {m.get('panelre_git', 'unknown')})",
        f"- Data: N entities x 10 periods, regressors x1..x5, seed {report['seed']}; "
        "'unb.' drops 20 % of the rows at random. Cached in `benchmarks/.cache/`.",
        "- Time: median wall seconds (`time.perf_counter`) of "
        f"{report['reps_note']}, each fit in a fresh process after a warm-up fit on 2,000 "
        "rows. Timed: from the pandas DataFrame to coefficients and standard errors, "
        "including the library's own data preparation (linearmodels: `set_index`, shown "
        "in brackets; panelre/pyfixest: formula parsing, index coding). Not timed: "
        "imports, reading Parquet.",
        "- Memory: absolute peak RSS of the fitting process during the fit (MB; "
        "`ru_maxrss` after resetting the high-water mark once the data are loaded). "
        "'base' is the RSS with the data loaded and the library imported, before the fit.",
        "- Agreement: max relative difference of panelre's coefficients from "
        f"linearmodels' (check: rtol {RTOL:g}).",
        "",
    ]
    for task, title in TASKS.items():
        lines += [
            f"## {title}",
            "",
            "| N entities | rows | panel | panelre s | linearmodels s | pyfixest s "
            "| lm / panelre | pf / panelre | peak MB panelre | peak MB lm | peak MB pf "
            "| base MB panelre | coef diff vs lm | agree |",
            "|---:|---:|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
        ]
        for cell in report["cells"]:
            if cell["task"] != task:
                continue
            r = {lib: cell["libs"].get(lib) for lib in LIBS}
            pre, lm, pf = r["panelre"], r["linearmodels"], r["pyfixest"]
            lm_s = fmt_s(lm)
            if lm and lm.get("status") == "ok":
                lm_s += f" ({lm['prep_seconds']:.2g})"
            ag = cell["agreement"]
            diff = fmt_diff(ag.get("vs_linearmodels"))
            if ag.get("stata_vs_linearmodels") is not None:
                diff += f"; stata conv.: {fmt_diff(ag['stata_vs_linearmodels'])}"
            rows = next((c["rows"] for c in r.values() if c and c.get("status") == "ok"), None)
            lines.append(
                f"| {cell['n']:,} | {rows:,} | {'bal.' if cell['balanced'] else 'unb.'} "
                f"| {fmt_s(pre)} | {lm_s} | {fmt_s(pf)} | {fmt_ratio(lm, pre)} "
                f"| {fmt_ratio(pf, pre)} | {fmt_mb(pre)} | {fmt_mb(lm)} | {fmt_mb(pf)} "
                f"| {pre['baseline_mb']:,.0f} | {diff} "
                f"| {'–' if ag['ok'] is None else ('yes' if ag['ok'] else 'NO')} |"
                if pre and pre.get("status") == "ok" and rows
                else f"| {cell['n']:,} | – | {'bal.' if cell['balanced'] else 'unb.'} "
                f"| {fmt_s(pre)} | {lm_s} | {fmt_s(pf)} | – | – | – | – | – | – | – | – |"
            )
        lines.append("")
    pairs = [
        (
            c,
            next(
                (
                    d
                    for d in report["cells"]
                    if d["task"] == "fe1" and d["n"] == c["n"] and d["balanced"] == c["balanced"]
                ),
                None,
            ),
        )
        for c in report["cells"]
        if c["task"] == "fe1w"
    ]
    if pairs:
        lines += [
            "## The cost of weights (panelre)",
            "",
            "Weighted one-way FE against the unweighted fit on the same data, both "
            "clustered by entity.",
            "",
            "| N entities | panel | weighted s | unweighted s | weighted / unweighted "
            "| peak MB weighted | peak MB unweighted |",
            "|---:|:---|---:|---:|---:|---:|---:|",
        ]
        for w, u in pairs:
            pw = w["libs"].get("panelre")
            pu = None if u is None else u["libs"].get("panelre")
            lines.append(
                f"| {w['n']:,} | {'bal.' if w['balanced'] else 'unb.'} | {fmt_s(pw)} "
                f"| {fmt_s(pu)} | {fmt_ratio(pw, pu)} | {fmt_mb(pw)} | {fmt_mb(pu)} |"
            )
        lines.append("")
    lines += [
        "## Numpy floor (one-way entity FE)",
        "",
        "`numpy`: entity means by `np.bincount`, demeaned X̃'X̃ and X̃'ỹ, solve (ids used "
        "directly as codes). `numpy + CRV`: also residuals and the entity-clustered "
        "sandwich. Compared with panelre's full one-way FE fit (clustered).",
        "",
        "| N entities | panel | numpy s | numpy + CRV s | panelre FE s | panelre / numpy "
        "| panelre / (numpy + CRV) | peak MB numpy | peak MB panelre |",
        "|---:|:---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for fl in report["floor"]:
        fe = next(
            (
                c["libs"].get("panelre")
                for c in report["cells"]
                if c["task"] == "fe1" and c["n"] == fl["n"] and c["balanced"] == fl["balanced"]
            ),
            None,
        )
        lines.append(
            f"| {fl['n']:,} | {'bal.' if fl['balanced'] else 'unb.'} | {fmt_s(fl.get('numpy'))} "
            f"| {fmt_s(fl.get('numpy_crv'))} | {fmt_s(fe)} | {fmt_ratio(fe, fl.get('numpy'))} "
            f"| {fmt_ratio(fe, fl.get('numpy_crv'))} | {fmt_mb(fl.get('numpy'))} | {fmt_mb(fe)} |"
        )
    lines.append("")
    errors = [
        (c["task"], c["n"], c["balanced"], lib, s.get("status"), s.get("error"))
        for c in report["cells"]
        for lib, s in c["libs"].items()
        if s and s.get("status") not in ("ok", "n/a")
    ]
    if errors:
        lines += ["## Failures", ""]
        lines += [
            f"- {t} N={n:,} {'bal.' if b else 'unb.'} {lib}: {st}: {err}"
            for t, n, b, lib, st, err in errors
        ]
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="panelre panel benchmarks")
    ap.add_argument(
        "--sizes",
        default="1e4,1e5,1e6",
        help="comma-separated numbers of entities (x 10 periods); default 1e4,1e5,1e6",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1e4 entities, balanced only, 1 repetition (~1 minute)",
    )
    ap.add_argument("--tasks", default="fe1,re,fe2,fe1w")
    ap.add_argument("--libs", default=",".join(LIBS))
    ap.add_argument("--reps", type=int, default=0, help="override repetitions per fit")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per child process")
    ap.add_argument("--unbalanced", choices=("both", "no", "only"), default="both")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--out", default=None, help="output stem (default results/panel[-quick])")
    ap.add_argument(
        "--update",
        action="store_true",
        help="merge into the existing results (re-run only the given cells/libs)",
    )
    ap.add_argument("--no-floor", action="store_true", help="skip the numpy floor")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(HERE))
    from data import DEFAULT_SEED

    seed = DEFAULT_SEED if args.seed is None else args.seed
    if args.quick:
        args.sizes, args.reps, args.unbalanced = "1e4", args.reps or 1, "no"
    sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    tasks = [t for t in args.tasks.split(",") if t]
    libs = [lib for lib in args.libs.split(",") if lib]
    balances = {"both": [True, False], "no": [True], "only": [False]}[args.unbalanced]
    stem = Path(args.out) if args.out else RESULTS / ("panel-quick" if args.quick else "panel")
    stem.parent.mkdir(parents=True, exist_ok=True)

    report = {
        "machine": machine(),
        "quick": args.quick,
        "seed": seed,
        "sizes": sizes,
        "reps_note": ("1 repetition" if args.reps == 1 else f"{args.reps} repetitions")
        if args.reps
        else "3 repetitions (1e6 entities: 2 for panelre/numpy, 1 for others)",
        "cells": [],
        "floor": [],
    }
    if args.update and stem.with_suffix(".json").exists():
        old = json.loads(stem.with_suffix(".json").read_text())
        report["cells"], report["floor"] = old["cells"], old["floor"]
        report["reps_note"], report["sizes"] = old["reps_note"], old["sizes"]
        report["updated"] = report["machine"]["date"]
        report["machine"]["date"] = old["machine"]["date"] + f" (partly re-run {report['updated']})"

    def slot(items: list, **key) -> dict:
        """The existing entry with these keys (when updating), else a new one."""
        for item in items:
            if all(item.get(k) == v for k, v in key.items()):
                return item
        item = dict(key)
        items.append(item)
        return item

    def save() -> None:
        stem.with_suffix(".json").write_text(json.dumps(report, indent=1))
        stem.with_suffix(".md").write_text(render(report))

    t_start = time.perf_counter()
    for n in sizes:
        for balanced in balances:
            path = ensure_data(n, balanced, seed, args.timeout)
            label = f"N={n:,} {'balanced' if balanced else 'unbalanced'}"
            floor = slot(report["floor"], n=n, balanced=balanced)
            for lib in () if args.no_floor else ("numpy", "numpy_crv"):
                runs = [
                    run_child(lib, "floor", path, args.timeout, [])
                    for _ in range(n_reps(n, lib, args))
                ]
                floor[lib] = summarise(runs)
                print(
                    f"[{time.perf_counter() - t_start:7.1f}s] {label} floor {lib}: "
                    f"{fmt_s(floor[lib])} s",
                    flush=True,
                )
            for task in tasks:
                cell = slot(report["cells"], task=task, n=n, balanced=balanced)
                cell.setdefault("libs", {})
                for lib in libs:
                    if lib == "pyfixest" and task == "re":
                        cell["libs"][lib] = {
                            "status": "n/a",
                            "error": "pyfixest has no random effects",
                        }
                        continue
                    extra = (
                        ["--check-stata"]
                        if (lib == "panelre" and task == "re" and not balanced)
                        else []
                    )
                    runs = []
                    for _ in range(n_reps(n, lib, args)):
                        r = run_child(lib, task, path, args.timeout, extra)
                        runs.append(r)
                        if r.get("status") != "ok":
                            break  # a timeout or error would repeat: do not wait again
                    cell["libs"][lib] = summarise(runs)
                    s = cell["libs"][lib]
                    print(
                        f"[{time.perf_counter() - t_start:7.1f}s] {label} {task} {lib}: "
                        f"{fmt_s(s)} s, peak {fmt_mb(s)} MB"
                        + (f" [{s.get('error')}]" if s.get("status") != "ok" else ""),
                        flush=True,
                    )
                cell["agreement"] = agreement(cell["libs"], task, balanced)
                save()
    report["total_seconds"] = time.perf_counter() - t_start
    save()
    print(f"\nWrote {stem.with_suffix('.md')} and {stem.with_suffix('.json')}")
    bad = [c for c in report["cells"] if c["agreement"]["ok"] is False]
    for c in bad:
        print(
            f"WARNING: panelre and linearmodels disagree: {c['task']} N={c['n']} "
            f"{'bal.' if c['balanced'] else 'unb.'}: {c['agreement']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
