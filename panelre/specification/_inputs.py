"""What a test reads: a fitted result or a formula with its data, alike."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from panelre.exceptions import InvalidParameterError
from panelre.results import PanelResults
from panelre.stats import Backend, PanelSource, bind

__all__ = ["tested_source"]


def tested_source(
    given: Any,
    data: Any,
    test: str,
    *,
    entity: Hashable | None = None,
    time: Hashable | None = None,
    backend: str | Backend = "auto",
    weights: Any = None,
    weight_type: str = "analytic",
) -> PanelSource:
    """The data of a test: those of a fitted result (the formula and rows it was fitted
    on, its weights included), or ``given`` as a formula bound to ``data``."""
    if isinstance(given, PanelResults):
        data_args = (data, weights, entity, time)
        if any(a is not None for a in data_args) or weight_type != "analytic" or backend != "auto":
            raise InvalidParameterError(
                f"{test}() takes a fitted result or a formula with its data, not both: the "
                "result already carries its data, identifiers, backend and weights."
            )
        original = getattr(given.model, "original_source", None)  # CRE: before the means
        return given.source if original is None else original
    if not isinstance(given, str):
        raise InvalidParameterError(
            f"{test}() takes a fitted panel result or a formula string. Got {type(given).__name__}."
        )
    if data is None:
        raise InvalidParameterError(f"A formula needs its data: {test}(formula, data, ...).")
    return bind(
        given, data, entity=entity, time=time, backend=backend, weights=weights,
        weight_type=weight_type,
    )  # fmt: skip
