"""Formulas to design matrices (formulaic), with panelre's data checks.

Rows with missing values in any variable the formula uses are dropped listwise
(with a warning that counts them); infinite values are an error; string columns
must be wrapped in ``C()`` to be used as categorical regressors.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import formulaic
import numpy as np
import pandas as pd

from panelre._validation import available_columns
from panelre._warnings import warn
from panelre._weights import checked_weights
from panelre.exceptions import DataError, FormulaError, InsufficientDataError, MissingValueWarning
from panelre.panel import PanelData

__all__ = [
    "Design",
    "InstrumentSpec",
    "build_design",
    "formula_variables",
    "split_instruments",
]


@dataclass(frozen=True)
class Design:
    """Response and regressors of a formula on a panel, NaN rows removed.

    Attributes
    ----------
    y : ndarray, shape (n,)
    X : ndarray, shape (n, k)
    y_name : str
    x_names : list of str
    panel : PanelData
        The panel restricted to the rows used.
    formula : str
    n_missing : int
        Rows dropped because of missing values.
    rhs_spec : object
        formulaic's model spec of the right-hand side (None for plain columns).
    weights : ndarray (n,) or None
        Positive observation weights (None: unweighted).
    weight_type : {"analytic", "frequency"} or None
    """

    y: np.ndarray
    X: np.ndarray
    y_name: str
    x_names: list[str]
    panel: PanelData
    formula: str
    n_missing: int = 0
    rhs_spec: object = None
    weights: np.ndarray | None = None
    weight_type: str | None = None

    def regressors_for(self, data: pd.DataFrame) -> pd.DataFrame:
        """The formula's right-hand side evaluated on new data (same coding)."""
        if self.rhs_spec is None:  # plain columns (the fast path of build_design)
            cols = [c for c in self.x_names if c != "Intercept"]
            out = pd.DataFrame({c: pd.to_numeric(data[c]) for c in cols}, index=data.index)
            if "Intercept" in self.x_names:
                out.insert(0, "Intercept", 1.0)
            return out
        return self.rhs_spec.get_model_matrix(data)  # type: ignore[attr-defined]

    @property
    def has_intercept(self) -> bool:
        """True when the formula has an ``Intercept`` column."""
        return "Intercept" in self.x_names


def formula_variables(formula: str) -> set[str]:
    """The data columns a formula refers to.

    Examples
    --------
    >>> sorted(formula_variables("inv ~ np.log(value) + capital"))
    ['capital', 'inv', 'value']
    """
    try:
        parsed = formulaic.Formula(formula)
    except Exception as exc:  # formulaic raises several parser exception types
        raise FormulaError(f"Cannot parse the formula {formula!r}: {exc}") from None
    return {str(v) for v in parsed.required_variables}


def raise_infinite(col: str, n_inf: int) -> None:
    """Raise ``DataError`` when column ``col`` has ``n_inf`` > 0 infinite values."""
    if n_inf:
        raise DataError(
            f"Column {col!r} contains {n_inf} infinite value(s). Infinite values are not "
            "allowed: replace them with NaN to drop those rows, or fix them."
        )


def missing_rows(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """Rows with a missing value in ``cols``, one column at a time (no copy of the frame);
    an infinite value raises ``DataError``."""
    missing = np.zeros(len(frame), dtype=bool)
    for col in cols:  # a loop over columns
        s = frame[col]
        if s.dtype.kind == "f":
            values = s.to_numpy()
            finite = np.isfinite(values)
            if finite.all():
                continue
            nan = np.isnan(values)
            raise_infinite(col, int((~finite & ~nan).sum()))
            missing |= nan
            continue
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            raise_infinite(col, int(np.isinf(s.to_numpy(dtype=float, na_value=np.nan)).sum()))
        missing |= s.isna().to_numpy()
    return missing


def _check_columns(formula: str, frame: pd.DataFrame, used: set[str]) -> None:
    missing = sorted(v for v in used if v not in frame.columns)
    if missing:
        raise FormulaError(
            f"The formula {formula!r} uses column(s) {missing} that are not in the data"
            f"{available_columns(missing[0], frame.columns)}."
        )
    for col in sorted(used):
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue  # infinite values: missing_rows
        if isinstance(s.dtype, pd.CategoricalDtype):
            continue
        if not re.search(r"C\(\s*" + re.escape(col) + r"\b", formula):
            raise FormulaError(
                f"Column {col!r} has non-numeric dtype {s.dtype} and is used as a regressor. "
                f"Wrap it as C({col}) to use it as a categorical variable, or convert it to "
                "numbers."
            )


def build_design(
    formula: str,
    panel: PanelData,
    weights: Hashable | None = None,
    weight_type: str = "analytic",
) -> Design:
    """Evaluate ``formula`` on ``panel`` and return a ``Design``.

    ``weights`` names a column of positive observation weights (see ``panelre._weights``):
    rows of weight zero are dropped with a warning, bad values raise.

    Examples
    --------
    >>> import panelre as pr
    >>> from panelre.panel import PanelData
    >>> d = build_design("inv ~ value + capital", PanelData(pr.datasets.load("grunfeld"), "firm"))
    >>> d.x_names, d.X.shape
    (['Intercept', 'value', 'capital'], (200, 3))
    """
    check_formula(formula)
    used = formula_variables(formula)
    frame = panel.frame
    _check_columns(formula, frame, used)
    cols = sorted(used)
    na_rows = missing_rows(frame, cols)
    n_missing = int(na_rows.sum())
    warn_missing_rows(n_missing, len(frame), cols)
    if n_missing:
        panel = panel.subset(~na_rows)
        frame = panel.frame
    w = None
    if weights is not None:
        w, positive = checked_weights(frame, weights, weight_type)
        if not positive.all():
            panel = panel.subset(positive)
            frame, w = panel.frame, w[positive]
    kind = None if w is None else weight_type
    plain = _plain_terms(formula, frame)
    if plain is not None:  # fast path: columns copied straight into one array
        y_name, x_names = plain
        y, X = _plain_matrices(frame, y_name, x_names)
        return Design(
            y=y,
            X=X,
            y_name=y_name,
            x_names=x_names,
            panel=panel,
            formula=formula,
            n_missing=n_missing,
            rhs_spec=None,
            weights=w,
            weight_type=kind,
        )
    mm = model_matrices(formula, frame)
    lhs, rhs = mm.lhs, mm.rhs
    y = np.asarray(lhs.to_numpy(dtype=float)[:, 0], dtype=float)
    X = np.asarray(rhs.to_numpy(dtype=float), dtype=float)
    require_finite(y, X, [*lhs.columns, *rhs.columns])
    return Design(
        y=y,
        X=X,
        y_name=str(lhs.columns[0]),
        x_names=[str(c) for c in rhs.columns],
        panel=panel,
        formula=formula,
        n_missing=n_missing,
        rhs_spec=rhs.model_spec,
        weights=w,
        weight_type=kind,
    )


def require_finite(y: np.ndarray, X: np.ndarray, names: list[Any]) -> None:
    """Raise ``DataError`` naming the columns of ``[y, X]`` (``names``) in which the
    formula's transforms produced non-finite values."""
    bad = [not np.isfinite(y).all(), *~np.isfinite(X).all(axis=0)]
    if any(bad):
        raise DataError(
            f"The formula's transforms produced non-finite values in "
            f"{[str(c) for c, b in zip(names, bad) if b]} (e.g. the log of a non-positive "
            "number). Restrict the data or change the transform."
        )


def check_formula(formula: Any) -> None:
    """Raise ``FormulaError`` unless ``formula`` is a string with a ``~``."""
    if not isinstance(formula, str) or "~" not in formula:
        raise FormulaError(
            f"A formula must be a string of the form 'y ~ x1 + x2'. Got {formula!r}."
        )


def warn_missing_rows(n_missing: int, n_rows: int, cols: list[str]) -> None:
    """The warning for rows dropped for a missing formula value (listwise deletion), and
    the error when none is left."""
    if n_missing:
        warn(
            f"{n_missing} of {n_rows} row(s) with missing values in {cols} were dropped "
            "(listwise deletion).",
            MissingValueWarning,
        )
        if n_missing == n_rows:
            raise InsufficientDataError(
                f"Every row has a missing value in {cols}; nothing is left to estimate."
            )


def model_matrices(formula: str, frame: pd.DataFrame) -> Any:
    """formulaic's model matrices of ``formula`` on ``frame`` (rows kept as they are),
    with exactly one response; evaluation errors become ``FormulaError``."""
    try:
        with np.errstate(all="ignore"):
            mm = formulaic.model_matrix(formula, frame, na_action="ignore")
    except Exception as exc:
        raise FormulaError(f"Cannot evaluate the formula {formula!r}: {exc}") from None
    if mm.lhs.shape[1] != 1:
        got = list(mm.lhs.columns)
        raise FormulaError(f"The formula needs exactly one response on the left of '~'. Got {got}.")
    return mm


def _plain_terms(formula: str, frame: pd.DataFrame) -> tuple[str, list[str]] | None:
    """(response, regressor names) when every term is a plain numeric column (or the
    intercept), else None. Such formulas skip formulaic's data path entirely."""
    parsed = formulaic.Formula(formula)
    lhs = [str(t) for t in parsed.lhs]
    names = [str(t) for t in parsed.rhs]
    if len(lhs) != 1 or "Intercept" in frame.columns:
        return None
    cols = [n for n in names if n != "1"]
    for col in [*lhs, *cols]:
        if col not in frame.columns or not _is_float_like(frame[col]):
            return None
    return lhs[0], (["Intercept"] if "1" in names else []) + cols


def _is_float_like(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _plain_matrices(
    frame: pd.DataFrame, y_name: str, x_names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    y = frame[y_name].to_numpy(dtype=float, copy=True)
    X = np.empty((len(frame), len(x_names)), order="F")  # column access is contiguous
    for j, name in enumerate(x_names):  # a loop over columns
        X[:, j] = 1.0 if name == "Intercept" else frame[name].to_numpy(dtype=float)
    return y, X


def required_variables(rhs_spec: object, x_names: Sequence[str]) -> list[str]:
    """The data columns a right-hand side uses (its plain columns when it has no spec).

    Examples
    --------
    >>> required_variables(None, ["Intercept", "x1", "x2"])
    ['x1', 'x2']
    """
    if rhs_spec is None:
        return [c for c in x_names if c != "Intercept"]
    return sorted(str(v) for v in rhs_spec.required_variables)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class InstrumentSpec:
    """An instrumental-variables formula taken apart.

    Attributes
    ----------
    formula : str
        The formula with every column as a term: response, exogenous regressors,
        endogenous regressors, excluded instruments.
    endogenous, instruments : tuple of str
        The formula terms inside the brackets, left and right of ``~``.
    """

    formula: str
    endogenous: tuple[str, ...]
    instruments: tuple[str, ...]


_BRACKET = re.compile(r"\[([^\[\]~]*)~([^\[\]]*)\]")


def _terms(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split("+") if t.strip())


def split_instruments(formula: str) -> InstrumentSpec | None:
    """The instruments of a linearmodels-style IV formula, ``"y ~ x1 + [x2 ~ z1 + z2]"``;
    None for a formula without brackets.

    Examples
    --------
    >>> spec = split_instruments("y ~ x1 + [x2 ~ z1 + np.log(z2)]")
    >>> spec.formula, spec.endogenous, spec.instruments
    ('y ~ x1 + x2 + z1 + np.log(z2)', ('x2',), ('z1', 'np.log(z2)'))
    """
    if not isinstance(formula, str):
        return None
    found = _BRACKET.findall(formula)
    if not found:  # brackets without "~" are Python lists, e.g. C(g, levels=[...])
        return None
    if len(found) != 1:
        raise FormulaError(
            "An instrumental-variables formula has one bracket [endogenous ~ instruments], "
            f"e.g. 'y ~ x1 + [x2 ~ z1 + z2]'. Got {formula!r}."
        )
    endogenous, instruments = (_terms(part) for part in found[0])
    if not endogenous or not instruments:
        raise FormulaError(
            "The bracket needs endogenous regressors left of '~' and instruments right of it, "
            f"e.g. [x2 ~ z1 + z2]. Got {formula!r}."
        )
    rest = _BRACKET.sub("", formula).rstrip()
    lhs, rhs = rest.split("~", 1)
    rhs_terms = [t.strip() for t in rhs.split("+")]
    rhs = " + ".join(t for t in rhs_terms if t)
    outside = {t for t in rhs_terms if t}
    for kind, terms in (("an endogenous regressor", endogenous), ("an instrument", instruments)):
        twice = [t for t in terms if t in outside]
        if twice:
            raise FormulaError(
                f"{twice[0]!r} is both an exogenous regressor and {kind} in {formula!r}; an "
                "exogenous regressor is already its own instrument, so list it once."
            )
    joined = " + ".join([*([rhs] if rhs else []), *endogenous, *instruments])
    return InstrumentSpec(f"{lhs.strip()} ~ {joined}", endogenous, instruments)
