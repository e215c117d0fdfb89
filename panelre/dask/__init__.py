"""The Dask backend: every panel estimator and test on a ``dask.dataframe.DataFrame``.

Formulas are evaluated partition by partition; the estimators need only group-by
aggregations (O(entities x k) comes back to the client), and the covariance reductions
run lazily on whatever Dask scheduler is active (a ``dask.distributed.Client`` when one
exists). See ``docs/large-panels.md``.

The public functions of ``panelre`` call ``dispatch`` when ``is_dask`` is
true for their data, so users never import this module.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable
from typing import Any

from panelre.exceptions import InvalidParameterError, PanelIndexError

__all__ = ["is_dask", "dispatch", "fit_dask", "read_panel", "make_compute"]

_COV_KEYS = ("small_sample", "cluster", "bandwidth")


def is_dask(obj: Any) -> bool:
    """True for a Dask collection or for results fitted on one (no Dask import needed)."""
    module = type(obj).__module__
    return module.startswith("dask.") or module.startswith("panelre.dask")


def read_panel(
    path: Any, *, entity: Hashable, time: Hashable | None = None, **read_options: Any
) -> Any:
    """Open Parquet files lazily as a Dask frame for the panel estimators.

    Parameters
    ----------
    path : str or list
        A file, directory or glob (``"data/*.parquet"``), local or remote.
    entity, time : str
        Column names of the identifiers (checked against the schema now).
    **read_options
        Passed to ``dask.dataframe.read_parquet`` (e.g. ``columns=``).

    Returns
    -------
    dask.dataframe.DataFrame
        Pass it to any estimator with the same ``entity=``/``time=``.
    """
    import dask.dataframe as dd

    frame = dd.read_parquet(path, **read_options)
    for role, col in (("entity", entity), ("time", time)):
        if col is not None and col not in frame.columns:
            shown = ", ".join(map(repr, list(frame.columns)[:12]))
            raise PanelIndexError(
                f"The {role} column {col!r} is not in {path!r}. Available columns: {shown}."
            )
    return frame


def make_compute(progress: bool | None = None) -> Callable[..., tuple[Any, ...]]:
    """``dask.compute`` on the active scheduler, with a progress bar when asked (default:
    when stderr is a terminal)."""
    import dask

    show = sys.stderr.isatty() if progress is None else bool(progress)

    def compute(*collections: Any) -> tuple[Any, ...]:
        if not show:
            return dask.compute(*collections)
        client = _active_client()
        if client is not None:
            from distributed import progress as dist_progress

            futures = client.compute(list(collections))
            dist_progress(futures)
            return tuple(client.gather(futures))
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            return dask.compute(*collections)

    return compute


def _active_client() -> Any:
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def _split(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    cov_opts = {k: options.pop(k) for k in list(options) if k in _COV_KEYS}
    return options, cov_opts


def fit_dask(
    estimator_name: str,
    formula: str,
    data: Any,
    entity: Hashable | None,
    time: Hashable | None,
    cov: Any = "unadjusted",
    options: dict[str, Any] | None = None,
) -> Any:
    """Fit one estimator (a public function name) on a Dask frame.

    ``options`` holds the estimator options (``effects``, ``method``, ``convention``),
    the covariance options and ``progress``.
    """
    from panelre.dask import estimators, random

    model_opts, cov_opts = _split(dict(options or {}))
    progress = model_opts.pop("progress", None)
    if entity is None:
        raise PanelIndexError(
            "A Dask frame needs entity='column' (and time='column'): Dask frames have no "
            "MultiIndex."
        )
    runners: dict[str, Callable[..., Any]] = {
        "pooled_ols": estimators.pooled_ols,
        "between": estimators.between,
        "fixed_effects": estimators.fixed_effects,
        "first_difference": estimators.first_difference,
        "random_effects": random.random_effects,
    }
    if estimator_name not in runners:
        raise InvalidParameterError(
            f"{estimator_name}() is not available for Dask data. Available: "
            f"{', '.join(runners)}. Call .compute() to use the in-memory estimator."
        )
    allowed = {"fixed_effects": {"effects"}, "random_effects": {"effects", "method", "convention"}}
    unknown = sorted(set(model_opts) - allowed.get(estimator_name, set()))
    if unknown:
        raise InvalidParameterError(
            f"{estimator_name}() got unexpected option(s) {unknown}. Allowed: "
            f"{', '.join(sorted(allowed.get(estimator_name, set()))) or 'none'}."
        )
    ctx = estimators.prepare(formula, data, entity, time, make_compute(progress))
    return runners[estimator_name](ctx, cov=cov, cov_options=cov_opts, **model_opts)


def dispatch(function_name: str, formula: Any, data: Any = None, **kwargs: Any) -> Any:
    """Run the public function ``function_name`` on Dask data; returns what the in-memory
    function returns.

    Examples of the hook in the public functions::

        if is_dask(data):
            return dispatch("fixed_effects", formula, data, effects=effects, entity=entity,
                            time=time, cov=cov, **options)
    """
    from panelre.dask import specification

    tests = {
        "breusch_pagan": specification.breusch_pagan,
        "hausman_regression": specification.hausman_regression,
        "select": specification.select,
    }
    if function_name == "f_test_effects":
        return specification.f_test_effects(formula)
    if function_name in tests:
        return tests[function_name](formula, data, **kwargs)
    entity = kwargs.pop("entity", None)
    time = kwargs.pop("time", None)
    cov = kwargs.pop("cov", "unadjusted")
    return fit_dask(function_name, formula, data, entity, time, cov, kwargs)
