"""Uniform parameter checks with scikit-learn style messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from panelre.exceptions import InvalidParameterError

__all__ = ["check_option", "check_positive", "check_probability", "closest_names"]


def check_option(
    name: str,
    value: object,
    allowed: Iterable[str],
    aliases: Mapping[str, str] | None = None,
) -> str:
    """Return the canonical spelling of a string option, or raise a clear error.

    Matching is case-insensitive; ``aliases`` maps alternative spellings to
    canonical names.

    Examples
    --------
    >>> check_option("cov", "Robust", ["unadjusted", "robust"])
    'robust'
    >>> check_option("method", "swar", ["swamy-arora"], {"swar": "swamy-arora"})
    'swamy-arora'
    """
    allowed = list(allowed)
    aliases = dict(aliases or {})
    if isinstance(value, str):
        key = value.strip().lower()
        lowered = {a.lower(): a for a in allowed}
        if key in lowered:
            return lowered[key]
        alias_lower = {k.lower(): v for k, v in aliases.items()}
        if key in alias_lower:
            return alias_lower[key]
    shown = ", ".join(repr(a) for a in allowed)
    extra = ""
    if aliases:
        extra = " (aliases: " + ", ".join(f"{k!r}->{v!r}" for k, v in aliases.items()) + ")"
    hint = closest_names(value, [*allowed, *aliases]) if isinstance(value, str) else ""
    raise InvalidParameterError(
        f"The {name!r} parameter must be one of {{{shown}}}{extra}. Got {value!r}{hint}."
    )


def check_positive(name: str, value: float, *, strict: bool = True) -> float:
    """Return ``value`` as float if it is (strictly) positive and finite.

    Examples
    --------
    >>> check_positive("alpha", 0.05)
    0.05
    """
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"The {name!r} parameter must be a number. Got {value!r}."
        ) from None
    ok = v > 0 if strict else v >= 0
    if not ok or v != v or v in (float("inf"), float("-inf")):
        bound = "> 0" if strict else ">= 0"
        raise InvalidParameterError(
            f"The {name!r} parameter must be a finite number {bound}. Got {value!r}."
        )
    return v


def check_probability(name: str, value: float) -> float:
    """Return ``value`` if it lies strictly between 0 and 1.

    Examples
    --------
    >>> check_probability("alpha", 0.05)
    0.05
    """
    v = check_positive(name, value)
    if not v < 1:
        raise InvalidParameterError(
            f"The {name!r} parameter must lie strictly between 0 and 1. Got {value!r}."
        )
    return v


def available_columns(wanted: object, columns: Iterable[object]) -> str:
    """The end of an unknown-column message: the close matches first, then the columns
    (the first 60 of a wider frame).

    Examples
    --------
    >>> available_columns("unoin", ["nr", "year", "union", "exper"])
    " (did you mean 'union'?). Available columns (4): 'nr', 'year', 'union', 'exper'"
    """
    names = [str(c) for c in columns]
    shown = ", ".join(map(repr, names[:_MAX_COLUMNS_SHOWN]))
    if len(names) > _MAX_COLUMNS_SHOWN:
        shown += f", … ({len(names) - _MAX_COLUMNS_SHOWN} more)"
    return f"{closest_names(str(wanted), names)}. Available columns ({len(names)}): {shown}"


#: Unknown-column messages list this many columns at most (after the close matches).
_MAX_COLUMNS_SHOWN = 60


def closest_names(name: str, candidates: Sequence[str]) -> str:
    """A "did you mean" hint for a misspelled ``name`` among ``candidates`` (or "")."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
