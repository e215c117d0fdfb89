"""Scale benchmark of the Dask backend (``make bench-dask``; not run in CI).

Writes a Parquet panel of ``entities x periods`` rows with 5 regressors (in row groups
of whole entities, one file per ``--rows-per-file`` rows), starts a
``dask.distributed.LocalCluster`` with a per-worker memory limit, and times one-way
fixed effects with entity-clustered standard errors and Swamy–Arora random effects.
Each worker's peak memory (the process's maximum RSS) is reported. Every fit is timed
warm: a fit on the first partition loads panelre on the workers first. With
``--persist`` the fits are timed again on the frame persisted in the workers' memory
(``ddf.persist()``: every pass then reads memory, not the files). With ``--compare`` the
in-memory path is timed on the same data (needs the RAM), and the time
``pandas.read_parquet`` takes to load it is reported beside it.

Examples
--------
    python benchmarks/dask_scale.py                          # 10^7 entities x 10 periods
    python benchmarks/dask_scale.py --entities 200000 --compare
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

FORMULA = "y ~ x1 + x2 + x3 + x4 + x5"


def write_panel(path: Path, entities: int, periods: int, rows_per_file: int, seed: int) -> None:
    """Generate the panel file by file (never more than one file in memory)."""
    path.mkdir(parents=True, exist_ok=True)
    per_file = max(1, rows_per_file // periods)
    rng = np.random.default_rng(seed)
    beta = np.array([0.5, -0.3, 0.2, 0.1, -0.4])
    for i, start in enumerate(range(0, entities, per_file)):
        ids = np.arange(start, min(entities, start + per_file))
        e = np.repeat(ids, periods)
        t = np.tile(np.arange(periods), len(ids))
        alpha = rng.normal(size=len(ids))[np.searchsorted(ids, e)]
        X = rng.normal(size=(len(e), 5)) + 0.3 * alpha[:, None]
        y = 1 + X @ beta + alpha + rng.normal(size=len(e))
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(1, 6)])
        frame.insert(0, "year", t.astype(np.int32))
        frame.insert(0, "firm", e.astype(np.int64))
        frame["y"] = y
        frame.to_parquet(path / f"part-{i:05d}.parquet", index=False)


def _peak_worker_memory(client) -> dict[str, float]:
    """Peak RSS (GB) of each worker process since it started (``ru_maxrss``)."""

    def peak() -> float:  # runs in the worker process
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0

    return {k: v / 1e9 for k, v in client.run(peak).items()}


def run(args: argparse.Namespace) -> dict:
    import dask
    from distributed import Client, LocalCluster

    import panelre as pr

    data = Path(args.data)
    if not data.exists():
        t0 = time.perf_counter()
        write_panel(data, args.entities, args.periods, args.rows_per_file, args.seed)
        print(f"wrote {data} in {time.perf_counter() - t0:.1f}s")
    cluster = LocalCluster(
        n_workers=args.workers, threads_per_worker=args.threads, memory_limit=args.memory_limit
    )
    out: dict = {"entities": args.entities, "periods": args.periods}
    out["rows"] = args.entities * args.periods
    with Client(cluster) as client:
        from distributed import wait

        ddf = pr.read_panel(str(data / "*.parquet"), entity="firm", time="year")
        out["partitions"] = ddf.npartitions
        # warm-up: panelre imported on the workers
        _ = pr.fixed_effects(FORMULA, ddf.partitions[0], entity="firm", cov="cluster").std_errors
        peaks: dict[str, float] = {}
        frames = [("", ddf)]
        if args.persist:
            t0 = time.perf_counter()
            persisted = ddf.persist()
            wait(persisted)
            out["persist_seconds"] = round(time.perf_counter() - t0, 2)
            frames.append(("persisted_", persisted))
        for prefix, frame in frames:
            for label, call in (
                (
                    "fe_cluster",
                    lambda f=frame: pr.fixed_effects(FORMULA, f, entity="firm", cov="cluster"),
                ),
                ("re_swamy_arora", lambda f=frame: pr.random_effects(FORMULA, f, entity="firm")),
            ):
                client.run(lambda: __import__("gc").collect())
                t0 = time.perf_counter()
                res = call()
                _ = res.std_errors
                out[f"{prefix}{label}_seconds"] = round(time.perf_counter() - t0, 2)
                out[f"{prefix}{label}_params"] = res.params.round(6).to_dict()
                for worker, gb in _peak_worker_memory(client).items():
                    peaks[worker] = max(peaks.get(worker, 0.0), gb)
                print(prefix + label, out[f"{prefix}{label}_seconds"], "s")
        out["worker_rss_gb_max"] = round(max(peaks.values()), 3)
        out["memory_limit"] = args.memory_limit
        out["workers"] = args.workers
    cluster.close()
    if args.compare:
        t0 = time.perf_counter()
        with dask.config.set(scheduler="sync"):
            frame = pd.read_parquet(data)
        out["memory_read_parquet_seconds"] = round(time.perf_counter() - t0, 2)
        fn_warm = pr.fixed_effects
        _ = fn_warm(FORMULA, frame.head(2000), entity="firm", cov="cluster").std_errors
        for label, fn, kw in (
            ("memory_fe_cluster", pr.fixed_effects, {"cov": "cluster"}),
            ("memory_re_swamy_arora", pr.random_effects, {}),
        ):
            t0 = time.perf_counter()
            _ = fn(FORMULA, frame, entity="firm", **kw).std_errors
            out[f"{label}_seconds"] = round(time.perf_counter() - t0, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000_000)
    parser.add_argument("--periods", type=int, default=10)
    parser.add_argument("--rows-per-file", type=int, default=2_000_000)
    parser.add_argument("--data", default="benchmarks/.cache/dask_panel")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare", action="store_true", help="also time the in-memory path")
    parser.add_argument(
        "--persist", action="store_true", help="also time the fits on the persisted frame"
    )
    parser.add_argument("--output", default="benchmarks/results/dask_scale.json")
    args = parser.parse_args()
    if args.data == "benchmarks/.cache/dask_panel":
        args.data = f"benchmarks/.cache/dask_panel_{args.entities}x{args.periods}"
    result = run(args)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
