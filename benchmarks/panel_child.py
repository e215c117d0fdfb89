"""One benchmark fit in a fresh process (started by ``benchmarks/run.py``).

Sequence (only step 5 is timed):

1. import the library;
2. read the cached Parquet panel into a pandas DataFrame (``id``, ``t``, ``y``, ``x1..x5``);
3. warm up: one fit on the first 2,000 rows (loads lazy imports and numba caches, so
   one-off start-up costs are not charged to the timed fit);
4. ``gc.collect()``, reset the process's peak-RSS high-water mark (``/proc/self/clear_refs``
   ← 5, which resets both ``VmHWM`` and ``getrusage().ru_maxrss``) and record the
   *baseline* RSS (data loaded, library imported);
5. time, with ``time.perf_counter``: the library's own data preparation (``set_index`` for
   linearmodels; nothing for panelre/pyfixest, which take the columns directly) and the
   fit from the formula to the coefficients and standard errors as numpy arrays;
6. report ``ru_maxrss`` (absolute peak RSS during 5, MB) and the results as one JSON line.

Usage: ``python panel_child.py LIB TASK PATH`` with LIB in {panelre, linearmodels,
pyfixest, numpy} and TASK in {fe1, re, fe2, floor}.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import FORMULA_RHS, REGRESSORS, read_panel  # noqa: E402

ENTITY, TIME = "id", "t"


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------- fits
# Each returns (prep_seconds, names, params, std_errors); the fit itself is timed by the caller
# as the whole call minus nothing, and the preparation separately inside.


def add_weights(df):
    """The weighted task's analytic weights, 0.5 … 3, a fixed function of (entity, period)
    that varies within entities (made outside the timed fit)."""
    df["w"] = 0.5 + ((df[ENTITY].to_numpy() * 7 + df[TIME].to_numpy() * 3) % 11) / 4.0
    return df


def fit_panelre(df, task):
    import panelre as pr

    if task == "fe1w":
        res = pr.fixed_effects(
            f"y ~ {FORMULA_RHS}",
            df,
            entity=ENTITY,
            time=TIME,
            weights="w",
            cov="cluster",
            cluster="entity",
        )
    elif task == "re":
        res = pr.random_effects(
            f"y ~ {FORMULA_RHS}",
            df,
            entity=ENTITY,
            time=TIME,
            method="swamy-arora",
            cov="cluster",
            cluster="entity",
        )
    else:
        res = pr.fixed_effects(
            f"y ~ {FORMULA_RHS}",
            df,
            entity=ENTITY,
            time=TIME,
            effects="entity" if task == "fe1" else "twoway",
            cov="cluster",
            cluster="entity",
        )
    return 0.0, list(res.params.index), res.params.to_numpy(), res.std_errors.to_numpy()


def fit_linearmodels(df, task):
    from linearmodels import PanelOLS, RandomEffects

    t0 = time.perf_counter()
    data = df.set_index([ENTITY, TIME])
    prep = time.perf_counter() - t0
    if task == "re":
        mod = RandomEffects.from_formula(f"y ~ 1 + {FORMULA_RHS}", data)
    elif task == "fe1w":
        mod = PanelOLS.from_formula(f"y ~ {FORMULA_RHS} + EntityEffects", data, weights=data["w"])
    else:
        extra = " + EntityEffects" + (" + TimeEffects" if task == "fe2" else "")
        mod = PanelOLS.from_formula(f"y ~ {FORMULA_RHS}{extra}", data)
    res = mod.fit(cov_type="clustered", cluster_entity=True)
    return prep, list(res.params.index), res.params.to_numpy(), res.std_errors.to_numpy()


def fit_pyfixest(df, task):
    import pyfixest as pf

    if task == "re":
        raise NotImplementedError("pyfixest has no random-effects estimator")
    fe = ENTITY if task in ("fe1", "fe1w") else f"{ENTITY} + {TIME}"
    weights = {"weights": "w"} if task == "fe1w" else {}
    res = pf.feols(f"y ~ {FORMULA_RHS} | {fe}", data=df, vcov={"CRV1": ENTITY}, **weights)
    coef, se = res.coef(), res.se()
    return 0.0, list(coef.index), coef.to_numpy(), se.to_numpy()


def fit_numpy_floor(df, task):
    """The issue's "numpy floor": entity means by np.bincount and the demeaned
    cross-products X̃'X̃, X̃'ỹ (codes taken as given: ids are 0..N-1), then the solve."""
    codes = df[ENTITY].to_numpy()
    y = df["y"].to_numpy()
    X = df[REGRESSORS].to_numpy()
    counts = np.bincount(codes).astype(float)
    ym = np.bincount(codes, weights=y) / counts
    Xm = np.column_stack([np.bincount(codes, weights=X[:, j]) for j in range(X.shape[1])])
    Xm /= counts[:, None]
    Xt = X - Xm[codes]
    yt = y - ym[codes]
    xtx = Xt.T @ Xt
    xty = Xt.T @ yt
    beta = np.linalg.solve(xtx, xty)
    return 0.0, list(REGRESSORS), beta, np.full(len(beta), np.nan)


def fit_numpy_floor_crv(df, task):
    """Floor plus residuals and the entity-clustered sandwich (all by bincount)."""
    codes = df[ENTITY].to_numpy()
    y = df["y"].to_numpy()
    X = df[REGRESSORS].to_numpy()
    counts = np.bincount(codes).astype(float)
    ym = np.bincount(codes, weights=y) / counts
    Xm = np.column_stack([np.bincount(codes, weights=X[:, j]) for j in range(X.shape[1])])
    Xm /= counts[:, None]
    Xt = X - Xm[codes]
    yt = y - ym[codes]
    xtx = Xt.T @ Xt
    beta = np.linalg.solve(xtx, Xt.T @ yt)
    e = yt - Xt @ beta
    G = counts.shape[0]
    S = np.column_stack(
        [np.bincount(codes, weights=Xt[:, j] * e, minlength=G) for j in range(Xt.shape[1])]
    )
    bread = np.linalg.inv(xtx)
    V = bread @ (S.T @ S) @ bread
    return 0.0, list(REGRESSORS), beta, np.sqrt(np.diag(V))


FITS = {
    "panelre": fit_panelre,
    "linearmodels": fit_linearmodels,
    "pyfixest": fit_pyfixest,
    "numpy": fit_numpy_floor,
    "numpy_crv": fit_numpy_floor_crv,
}


def main() -> None:
    lib, task, path = sys.argv[1], sys.argv[2], sys.argv[3]
    out: dict = {"lib": lib, "task": task, "path": path}
    try:
        fit = FITS[lib]
        if lib in ("panelre", "linearmodels", "pyfixest"):
            __import__(lib)
        df = read_panel(path)
        if task == "fe1w":
            df = add_weights(df)
        out["rows"] = len(df)
        out["load_peak_mb"] = maxrss_mb()
        warnings.simplefilter("ignore")  # e.g. singleton warnings; not what we measure
        fit(df.iloc[:2000].copy(), task)  # warm-up (lazy imports, numba caches)
        gc.collect()
        out["peak_reset"] = reset_peak()
        out["baseline_mb"] = rss_mb()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        prep, names, params, se = fit(df, task)
        elapsed = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        out["peak_mb"] = maxrss_mb()
        # CPU split of the timed fit: kernel time is mostly page faults on fresh memory
        out["cpu_user"] = r1.ru_utime - r0.ru_utime
        out["cpu_sys"] = r1.ru_stime - r0.ru_stime
        out["minor_faults"] = r1.ru_minflt - r0.ru_minflt
        out.update(
            status="ok",
            seconds=elapsed,
            prep_seconds=prep,
            names=names,
            params=[float(v) for v in params],
            std_errors=[float(v) for v in se],
        )
        if lib == "panelre" and task == "re" and "--check-stata" in sys.argv:
            # Untimed extra fit: linearmodels' unbalanced Swamy–Arora uses Stata's
            # formulas; panelre's default is R plm's (Baltagi–Chang). Compare like with like.
            import panelre as pr

            res = pr.random_effects(
                f"y ~ {FORMULA_RHS}",
                df,
                entity=ENTITY,
                time=TIME,
                convention="stata",
                cov="cluster",
            )
            out["params_stata"] = [float(v) for v in res.params.to_numpy()]
    except NotImplementedError as exc:
        out.update(status="n/a", error=str(exc))
    except Exception as exc:  # reported, never raised: the parent records it
        out.update(
            status="error",
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(limit=5),
        )
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
