"""GPU benchmark: one-way FE, Swamy–Arora RE and two-way FE on a device vs numpy.

For each size (rows of the full entities x 10 periods grid, 20 % of the rows dropped at
random, seeded), times ``pr.fixed_effects`` / ``pr.random_effects`` /
``pr.fixed_effects(effects="twoway")`` with entity-clustered standard errors through the
public API with ``backend="numpy"`` and with ``backend="cupy"`` (or ``torch``), and prints
the times, their ratio and the largest difference of the estimates. Without CuPy (or
PyTorch) or a CUDA GPU it says so and exits 0; a size that does not fit in host or device
memory is skipped.

Examples
--------
    python benchmarks/gpu.py                        # 10^7 and 10^8 rows, CuPy
    python benchmarks/gpu.py --backend torch --rows 1e6 1e7
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

FORMULA = "y ~ x1 + x2 + x3 + x4 + x5"
BETA = (1.0, -0.5, 0.25, 2.0, -1.0)
HOST_BYTES_PER_ROW = 200  # frame, host design and the numpy fit's temporaries (peak)
DEVICE_BYTES_PER_ROW = 64  # z = [y, X] (6 x float64) and two int64 code vectors
MODELS = {
    "FE (entity)": ("fixed_effects", {}),
    "RE (Swamy-Arora)": ("random_effects", {"method": "swamy-arora"}),
    "FE (two-way)": ("fixed_effects", {"effects": "twoway"}),
}


def gpu_status(backend: str) -> tuple[str | None, int]:
    """The GPU's name and free memory in bytes, or (None, 0) with a message printed."""
    try:
        if backend == "cupy":
            import cupy

            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("no CUDA device")
            props = cupy.cuda.runtime.getDeviceProperties(0)
            return props["name"].decode(), int(cupy.cuda.Device(0).mem_info[0])
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("no CUDA device")
        return torch.cuda.get_device_name(0), int(torch.cuda.mem_get_info(0)[0])
    except Exception as exc:  # ImportError, CUDA runtime errors: nothing to benchmark
        print(f"backend={backend!r} is not usable here ({type(exc).__name__}: {exc}); skipped.")
        return None, 0


def host_available() -> int:
    """Available host memory in bytes (``MemAvailable``; physical pages elsewhere)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def make_panel(grid_rows: int, seed: int = 20240601) -> pd.DataFrame:
    """``grid_rows / 10`` entities x 10 periods, 20 % of the rows dropped, column by column."""
    rng = np.random.default_rng(seed)
    n_entities = grid_rows // 10
    kept = np.flatnonzero(rng.random(n_entities * 10) >= 0.2)
    ids, t = kept // 10, kept % 10
    del kept
    alpha = rng.standard_normal(n_entities)[ids]
    gamma = (0.5 * rng.standard_normal(10))[t]
    cols: dict[str, np.ndarray] = {"id": ids, "t": t}
    y = alpha + gamma + rng.standard_normal(ids.size)
    shifts = {1: 0.6 * alpha, 3: 0.3 * alpha, 4: 0.8 * gamma}  # x1, x3 ~ αᵢ; x4 ~ γₜ
    for j, b in enumerate(BETA, start=1):  # a loop over columns
        x = rng.standard_normal(ids.size)
        if j in shifts:
            x += shifts[j]
        y += b * x
        cols[f"x{j}"] = x
    cols["y"] = y
    return pd.DataFrame(cols, copy=False)


def fit(pr: Any, model: str, data: pd.DataFrame, backend: str) -> tuple[float, np.ndarray]:
    """Seconds for one fit through the public API, and its estimates and SEs."""
    func, options = MODELS[model]
    start = time.perf_counter()
    res = getattr(pr, func)(
        FORMULA, data, entity="id", time="t", cov="cluster", backend=backend, **options
    )
    out = np.concatenate([res.params.to_numpy(), res.std_errors.to_numpy()])
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["cupy", "torch"], default="cupy")
    parser.add_argument("--rows", nargs="+", type=float, default=[1e7, 1e8])
    parser.add_argument("--budget", type=float, default=270.0, help="seconds (default 270)")
    args = parser.parse_args(argv)
    gpu, free = gpu_status(args.backend)
    if gpu is None:
        return 0
    import panelre as pr

    warnings.simplefilter("ignore")  # singleton entities etc.: not what is measured
    start = time.perf_counter()
    print(f"device: {gpu} ({free / 1e9:.1f} GB free), host: {host_available() / 1e9:.1f} GB")
    warm = make_panel(100_000)
    for model in MODELS:  # CUDA context, kernels and cuBLAS handles, not timed
        fit(pr, model, warm, args.backend)
    print(
        f"{'rows':>12} {'model':<17} {'numpy s':>9} {args.backend + ' s':>9} {'ratio':>7} max |Δ|"
    )
    per_row: dict[str, float] = {}  # numpy seconds per row at the last size measured
    estimated = False
    for grid in (int(r) for r in args.rows):
        need = (grid * HOST_BYTES_PER_ROW, grid * DEVICE_BYTES_PER_ROW)
        if need[0] > host_available() or need[1] > free:
            print(
                f"{grid:>12,} skipped: needs ~{need[0] / 1e9:.0f} GB of host memory and "
                f"~{need[1] / 1e9:.0f} GB on the device"
            )
            continue
        data = make_panel(grid)
        for model in MODELS:
            t_gpu, got = fit(pr, model, data, args.backend)
            guess = per_row.get(model, 0.0) * len(data)
            if time.perf_counter() - start + guess > args.budget:
                estimated = True
                print(
                    f"{len(data):>12,} {model:<17} {guess:>8.1f}* {t_gpu:>9.2f} "
                    f"{guess / t_gpu:>6.1f}x*"
                )
                continue
            t_np, ref = fit(pr, model, data, "numpy")
            per_row[model] = t_np / len(data)
            diff = float(np.max(np.abs(got - ref)))
            print(
                f"{len(data):>12,} {model:<17} {t_np:>9.2f} {t_gpu:>9.2f} "
                f"{t_np / t_gpu:>6.1f}x {diff:.1e}"
            )
        del data
    if estimated:
        print("* numpy not run (it would pass --budget): time extrapolated from the last size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
