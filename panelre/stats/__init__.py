"""The statistics seam: ``PanelStats``, ``RowMap``, score reductions and the backends.

``bind(formula, data, entity=..., time=..., backend="auto")`` evaluates a formula where
the data live and returns the ``PanelSource`` every estimator works on. Backends:

* ``"numpy"`` — pandas/polars frames and ``PanelData`` in memory;
* ``"dask"`` — ``dask.dataframe`` frames, reduced partition by partition;
* ``"cupy"``, ``"torch"`` — the rows on a device, through ``array_api_compat``.

``"auto"`` picks Dask for Dask frames and numpy otherwise. This package is the only
place that knows which backend runs.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd

from panelre._validation import check_option
from panelre._weights import weight_spec
from panelre.exceptions import InvalidParameterError
from panelre.stats._base import (
    Backend,
    Groups,
    PanelSource,
    PanelStats,
    RowMap,
    ScoreReducer,
    Weighting,
    column_selection,
    require_time,
)
from panelre.stats.algebra import column_sums, corr2, cross, derive, group_sums
from panelre.stats.numpy import NumpyBackend, host_source

__all__ = [
    "BACKENDS",
    "Backend",
    "Groups",
    "PanelSource",
    "PanelStats",
    "RowMap",
    "ScoreReducer",
    "Weighting",
    "bind",
    "column_selection",
    "column_sums",
    "corr2",
    "cross",
    "derive",
    "group_sums",
    "host_source",
    "in_memory",
    "is_lazy_frame",
    "map_chunks",
    "read_panel",
    "require_time",
    "resolve_backend",
]

BACKENDS = ("auto", "numpy", "dask", "cupy", "torch")


def is_lazy_frame(data: Any) -> bool:
    """True for a Dask collection (checked without importing Dask)."""
    return type(data).__module__.startswith("dask")


def map_chunks(data: Any, fn: Callable[[pd.DataFrame], pd.Series], name: str) -> Any:
    """``fn`` applied to in-memory data, or partition by partition (lazily) to a Dask frame.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1.0, 2.0]})
    >>> map_chunks(df, lambda f: f["a"] * 2, "twice").tolist()
    [2.0, 4.0]
    """
    if is_lazy_frame(data):
        return data.map_partitions(fn, meta=pd.Series([], dtype=float, name=name))
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    return fn(frame)


def in_memory(values: Any) -> pd.Series:
    """Per-row values as a pandas Series: computed when a backend returned them lazily.

    Examples
    --------
    >>> in_memory(pd.Series([1.0])).tolist()
    [1.0]
    """
    compute = getattr(values, "compute", None)
    return compute() if callable(compute) else values


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

    Raises
    ------
    PanelIndexError
        ``entity`` or ``time`` is not a column of the files.

    Examples
    --------
    >>> import os, tempfile
    >>> import panelre as pr
    >>> folder = tempfile.mkdtemp()
    >>> pr.datasets.load("grunfeld").to_parquet(os.path.join(folder, "g.parquet"))
    >>> frame = pr.read_panel(os.path.join(folder, "*.parquet"), entity="firm", time="year")
    >>> pr.fixed_effects("inv ~ value + capital", frame, entity="firm",
    ...                  time="year").params.round(4).tolist()
    [0.1101, 0.3101]
    """
    from panelre.stats.dask import read_panel as read

    return read(path, entity=entity, time=time, **read_options)


def resolve_backend(backend: str | Backend, data: Any) -> Backend:
    """The backend object for a ``backend=`` argument and the data it will read.

    Examples
    --------
    >>> import pandas as pd
    >>> resolve_backend("auto", pd.DataFrame()).name
    'numpy'
    """
    if not isinstance(backend, str):
        return backend
    name = check_option("backend", backend, BACKENDS)
    if name == "auto":
        name = "dask" if is_lazy_frame(data) else "numpy"
    if name == "numpy":
        if is_lazy_frame(data):
            raise InvalidParameterError(
                "backend='numpy' needs in-memory data; got a Dask frame. Use backend='auto' "
                "or 'dask', or call .compute() first."
            )
        return NumpyBackend()
    if name == "dask":
        if not is_lazy_frame(data):
            raise InvalidParameterError(
                "backend='dask' needs a Dask frame; got a "
                f"{type(data).__name__}. Wrap it with dask.dataframe.from_pandas(data, "
                "npartitions=...), or use backend='auto' or 'numpy' for in-memory data."
            )
        from panelre.stats.dask import DaskBackend

        return DaskBackend()
    from panelre.stats.xp import ArrayAPIBackend

    return ArrayAPIBackend(name)


def bind(
    formula: str,
    data: Any,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
) -> PanelSource:
    """Evaluate ``formula`` on ``data`` with the chosen backend (``weights``: a column
    name or one value per row, see ``panelre._weights``).

    Examples
    --------
    >>> import panelre as pr
    >>> src = bind("inv ~ value + capital", pr.datasets.load("grunfeld"), entity="firm")
    >>> src.backend.name, src.stats.n, src.x_names
    ('numpy', 200, ['Intercept', 'value', 'capital'])
    """
    spec = weight_spec(weights, weight_type)
    chosen = resolve_backend(backend, data)
    if spec is None:
        return chosen.bind(formula, data, entity, time)
    return chosen.bind(formula, data, entity, time, spec)
