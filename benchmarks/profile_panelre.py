"""Where panelre spends time and memory on a large panel (default 10⁶ entities x 10 periods).

For each task (one-way FE clustered, RE Swamy–Arora clustered, two-way FE clustered), in a
fresh process per task:

1. a stage breakdown: the public call split into its internal steps (``PanelData``,
   ``build_design``, the estimator's ``_estimate``, the covariance), each with wall time and
   the tracemalloc peak of the step (numpy/pandas buffers are traced);
2. cProfile of the full ``pr.fixed_effects`` / ``pr.random_effects`` call (top functions by
   cumulative and by own time), saved as ``results/profile-<task>.prof``;
3. pyinstrument's call tree of the same call (if pyinstrument is installed).

Output: ``benchmarks/results/profile-panelre.md``. Usage::

    .venv/bin/python benchmarks/profile_panelre.py [--n 1e6] [--tasks fe1,re,fe2] [--unbalanced]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from data import FORMULA_RHS, panel_path, read_panel  # noqa: E402

FORMULA = f"y ~ {FORMULA_RHS}"


def call(task: str, df):
    import panelre as pr

    if task == "re":
        return pr.random_effects(FORMULA, df, entity="id", time="t", cov="cluster")
    return pr.fixed_effects(
        FORMULA,
        df,
        entity="id",
        time="t",
        effects="entity" if task == "fe1" else "twoway",
        cov="cluster",
    )


def stages(task: str, df) -> list[dict]:
    """The public call, step by step (mirrors panelre.api._fit and PanelModel.fit)."""
    from panelre.covariance import make_covariance
    from panelre.estimators import FixedEffects, RandomEffects
    from panelre.formula import build_design
    from panelre.panel import PanelData
    from panelre.results import PanelResults

    out = []
    state: dict = {}

    def step(name, fn):
        gc.collect()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        t0 = time.perf_counter()
        state[name] = fn()
        dt = time.perf_counter() - t0
        cur, peak = tracemalloc.get_traced_memory()
        out.append(
            {
                "stage": name,
                "seconds": dt,
                "peak_extra_mb": (peak - before) / 2**20,
                "retained_mb": (cur - before) / 2**20,
            }
        )

    tracemalloc.start()
    step("PanelData(df, entity, time)", lambda: PanelData(df, "id", "t"))
    step(
        "build_design(formula, panel)",
        lambda: build_design(FORMULA, state["PanelData(df, entity, time)"]),
    )
    design = state["build_design(formula, panel)"]
    if task == "re":
        model = RandomEffects(design, effects="entity", method="swamy-arora")
    else:
        model = FixedEffects(design, effects="entity" if task == "fe1" else "twoway")
    step("model._estimate()", model._estimate)
    est = state["model._estimate()"]
    cov = make_covariance("cluster")
    step("covariance_inputs + Clustered.cov", lambda: cov.cov(est.covariance_inputs()))
    step(
        "PanelResults(...) + params/std_errors",
        lambda: (lambda r: (r.params, r.std_errors))(
            PanelResults(
                model=model,
                estimation=est,
                covariance=cov,
                cov_matrix=state["covariance_inputs + Clustered.cov"],
            )
        ),
    )
    if task == "re":
        # the moment estimator alone (it is part of _estimate above)
        from panelre.estimators.variance_components import estimate_components

        step(
            "  of which estimate_components (σ²)",
            lambda: estimate_components(design, "entity", "swamy-arora", "plm"),
        )
    tracemalloc.stop()
    return out


def child(task: str, path: str, out_json: str) -> None:
    warnings.simplefilter("ignore")
    df = read_panel(path)
    call(task, df.iloc[:2000].copy())  # warm-up
    res: dict = {"task": task, "rows": len(df)}
    gc.collect()
    t0 = time.perf_counter()
    call(task, df)
    res["total_seconds"] = time.perf_counter() - t0
    res["stages"] = stages(task, df)
    gc.collect()
    prof = cProfile.Profile()
    prof.enable()
    call(task, df)
    prof.disable()
    prof.dump_stats(str(HERE / "results" / f"profile-{task}.prof"))
    texts = {}
    for key in ("cumulative", "tottime"):
        s = io.StringIO()
        st = pstats.Stats(prof, stream=s).strip_dirs().sort_stats(key)
        st.print_stats(22)
        texts[key] = s.getvalue()
    res["cprofile"] = texts
    try:
        from pyinstrument import Profiler

        gc.collect()
        p = Profiler(interval=0.005)
        p.start()
        call(task, df)
        p.stop()
        res["pyinstrument"] = p.output_text(unicode=False, color=False, show_all=False)
    except ImportError:
        res["pyinstrument"] = "(pyinstrument not installed)"
    Path(out_json).write_text(json.dumps(res))


def trim_pstats(text: str) -> str:
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if "ncalls" in ln), 0)
    return "\n".join(lines[start:]).rstrip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", default="1e6")
    ap.add_argument("--tasks", default="fe1,re,fe2")
    ap.add_argument("--unbalanced", action="store_true")
    ap.add_argument("--child", nargs=3, metavar=("TASK", "PATH", "OUT"))
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    n = int(float(args.n))
    path = panel_path(n, balanced=not args.unbalanced)
    (HERE / "results").mkdir(exist_ok=True)
    titles = {
        "fe1": "One-way FE (entity), clustered",
        "re": "RE (Swamy–Arora), clustered",
        "fe2": "Two-way FE, clustered",
    }
    md = [
        f"# Profile of panelre: {n:,} entities x 10 periods "
        f"({'20 % unbalanced' if args.unbalanced else 'balanced'})",
        "",
        "Generated by `benchmarks/profile_panelre.py`. Stage peaks are tracemalloc peaks "
        "(numpy/pandas buffers) above the memory held before the stage; the data frame "
        "itself (8 columns of 8 bytes per row) is not included.",
        "",
    ]
    for task in args.tasks.split(","):
        out = HERE / "results" / f".profile-{task}.json"
        subprocess.run([sys.executable, __file__, "--child", task, str(path), str(out)], check=True)
        res = json.loads(out.read_text())
        out.unlink()
        md += [
            f"## {titles[task]}",
            "",
            f"First full call in the process (no profiler): **{res['total_seconds']:.2f} s** "
            f"on {res['rows']:,} rows. The stage table and the profiles below are later "
            "calls in the same process (the allocator's pages are partly warm, so they "
            "add up to less).",
            "",
            "| stage | seconds | peak extra MB | retained MB |",
            "|:---|---:|---:|---:|",
        ]
        md += [
            f"| {s['stage']} | {s['seconds']:.3f} | {s['peak_extra_mb']:,.0f} "
            f"| {s['retained_mb']:,.0f} |"
            for s in res["stages"]
        ]
        md += [
            "",
            "cProfile, by cumulative time:",
            "",
            "```",
            trim_pstats(res["cprofile"]["cumulative"]),
            "```",
            "",
            "cProfile, by own time:",
            "",
            "```",
            trim_pstats(res["cprofile"]["tottime"]),
            "```",
            "",
            "pyinstrument:",
            "",
            "```",
            res["pyinstrument"].strip(),
            "```",
            "",
        ]
        print(f"{task}: {res['total_seconds']:.2f} s", flush=True)
    suffix = "-unbalanced" if args.unbalanced else ""
    (HERE / "results" / f"profile-panelre{suffix}.md").write_text("\n".join(md))
    print(f"wrote results/profile-panelre{suffix}.md")


if __name__ == "__main__":
    main()
