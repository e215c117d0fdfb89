"""Predictions of a fitted mixed model on new data."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from panelre.exceptions import DataError, FormulaError
from panelre.mixed.design import as_frame

if TYPE_CHECKING:
    from panelre.mixed.results import MixedResults

__all__ = ["predict"]


def _matrix(spec, data: pd.DataFrame, what: str) -> np.ndarray:
    try:
        return np.asarray(spec.get_model_matrix(data, na_action="ignore"), dtype=float)
    except Exception as exc:
        raise FormulaError(f"Cannot build the {what} for prediction: {exc}") from exc


def predict(res: MixedResults, data: pd.DataFrame | None, include_random: bool) -> pd.Series:
    """:math:`X\\hat\\beta` (+ :math:`Z\\hat b_i`, 0 for groups not seen in the fit)."""
    if data is None:
        values = res.fitted_values.to_numpy() if include_random else res.fitted_fixed
        return pd.Series(values, index=res.row_index, name="predicted")
    frame = as_frame(data)
    x_full = _matrix(res.fixed_spec, frame, "fixed part")
    names = [str(c) for c in res.fixed_spec.column_names]
    keep = [names.index(n) for n in res.fixed_names]
    out = x_full[:, keep] @ res.params.to_numpy()
    if include_random:
        if res.group_name not in frame.columns:
            raise DataError(
                f"Predicting with random effects needs the grouping column {res.group_name!r} "
                f"in data. Got columns {list(frame.columns)}; or use include_random=False."
            )
        z = np.column_stack([_matrix(s, frame, "random part") for s in res.random_specs])
        codes = res.group_labels.get_indexer(pd.Index(frame[res.group_name]))
        effects = np.where(codes[:, None] >= 0, res.blups[np.maximum(codes, 0)], 0.0)
        out = out + (z * effects).sum(axis=1)
    return pd.Series(out, index=frame.index, name="predicted")
