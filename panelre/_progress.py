"""Progress bars (tqdm) for work that can take more than a few seconds."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["progress"]

T = TypeVar("T")


def progress(
    items: Iterable[T], *, total: int | None = None, desc: str = "", enabled: bool | None = None
) -> Iterator[T]:
    """Iterate over ``items`` with a tqdm progress bar.

    ``enabled=None`` (the default) shows the bar only when stderr is an interactive
    terminal and tqdm is installed (the ``progress`` extra); ``False`` never shows it.

    Examples
    --------
    >>> list(progress(range(3), enabled=False))
    [0, 1, 2]
    """
    if enabled is None:
        enabled = bool(getattr(sys.stderr, "isatty", lambda: False)())
    if enabled:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - tqdm is an optional extra
            enabled = False
        else:
            yield from tqdm(items, total=total, desc=desc, leave=False)
            return
    yield from items
