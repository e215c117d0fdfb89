"""Seeded synthetic panels for the benchmarks, cached as Parquet.

``make_panel(n_entities, balanced=True, seed=...)`` builds ``n_entities`` x 10 periods with
five regressors ``x1..x5`` (``x1`` and ``x3`` correlated with the entity effect, ``x4``
with the time effect) and ``y = x'β + αᵢ + γₜ + ε``. The "unbalanced" variant drops 20 % of
the rows at random (seeded). ``panel_path()`` writes each data set once to
``benchmarks/.cache/`` so that every benchmark child process reads identical data.

Run as a script to (re)build a data set: ``python benchmarks/data.py 1e5 --unbalanced``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd

CACHE = Path(__file__).resolve().parent / ".cache"
N_PERIODS = 10
BETA = np.array([1.0, -0.5, 0.25, 2.0, -1.0])
REGRESSORS = [f"x{j}" for j in range(1, 6)]
FORMULA_RHS = " + ".join(REGRESSORS)
DROP_SHARE = 0.20
DEFAULT_SEED = 20240601


def make_panel(
    n_entities: int, *, balanced: bool = True, seed: int = DEFAULT_SEED, n_periods: int = N_PERIODS
) -> pd.DataFrame:
    """The synthetic panel as a DataFrame with columns id, t, y, x1..x5 (row order: id, t)."""
    rng = np.random.default_rng([seed, n_entities, n_periods])
    n = n_entities * n_periods
    ids = np.repeat(np.arange(n_entities, dtype=np.int64), n_periods)
    t = np.tile(np.arange(n_periods, dtype=np.int64), n_entities)
    alpha = rng.standard_normal(n_entities)[ids]  # entity effect
    gamma = (0.5 * rng.standard_normal(n_periods))[t]  # time effect
    X = rng.standard_normal((n, 5))
    X[:, 0] += 0.6 * alpha  # x1 correlated with αᵢ
    X[:, 2] += 0.3 * alpha  # x3 correlated with αᵢ
    X[:, 3] += 0.8 * gamma  # x4 correlated with γₜ
    y = X @ BETA + alpha + gamma + rng.standard_normal(n)
    cols = {"id": ids, "t": t, "y": y}
    cols.update({name: np.ascontiguousarray(X[:, j]) for j, name in enumerate(REGRESSORS)})
    df = pd.DataFrame(cols)
    if not balanced:
        drop = np.random.default_rng([seed, n_entities, n_periods, 1]).permutation(n)
        keep = np.ones(n, dtype=bool)
        keep[drop[: int(round(DROP_SHARE * n))]] = False
        df = df.loc[keep].reset_index(drop=True)
    return df


def panel_path(n_entities: int, *, balanced: bool = True, seed: int = DEFAULT_SEED) -> Path:
    """Path of the cached Parquet file for this panel, written on first use."""
    tag = "bal" if balanced else "unb20"
    path = CACHE / f"panel_n{n_entities}_T{N_PERIODS}_{tag}_s{seed}.parquet"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        df = make_panel(n_entities, balanced=balanced, seed=seed)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        df.to_parquet(tmp, index=False)
        tmp.replace(path)
    return path


def read_panel(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a cached panel (numpy-backed columns, as users typically have them).

    pyarrow's allocator keeps the freed read buffers (≈ 1.2 GB at 10⁷ rows) unless told to
    release them; they would sit in every child's baseline and peak RSS.
    """
    import pyarrow as pa

    df = pd.read_parquet(path)
    pa.default_memory_pool().release_unused()
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n_entities", type=float)
    ap.add_argument("--unbalanced", action="store_true")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args()
    print(panel_path(int(args.n_entities), balanced=not args.unbalanced, seed=args.seed))


if __name__ == "__main__":
    main()
