"""Helpers shared by the mixed-model benchmarks (``mixed_bench.py``, ``crossed_bench.py``):
repeated child fits summarised by their median, and table cells."""

from __future__ import annotations

import statistics
from collections.abc import Callable

#: A fit slower than this many seconds is run once.
SLOW_SECONDS = 20.0


def repeat_fit(run_once: Callable[[], dict], max_reps: int) -> dict:
    """Run a child fit up to ``max_reps`` times (once when it is slow, stopping at the first
    failure) and summarise it: median seconds, largest peak memory, the criterion of the
    first run, the number of runs, and the optional ``converged``/``conv_messages`` keys."""
    runs = []
    for _ in range(max_reps):
        got = run_once()
        if got["status"] != "ok":
            return got
        runs.append(got)
        if got["seconds"] > SLOW_SECONDS:
            break
    out = {
        "status": "ok",
        "seconds": statistics.median(r["seconds"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
        "reml": runs[0]["reml"],
        "reps": len(runs),
    }
    for key in ("converged", "conv_messages"):
        if key in runs[0]:
            out[key] = runs[0][key]
    return out


def cell(row: dict | None, key: str, digits: int) -> str:
    """A table cell: the value, the failure status in the time column, or a dash."""
    if row is None:
        return "—"
    if row["status"] != "ok":
        return row["status"] if key == "seconds" else "—"
    return f"{row[key]:.{digits}f}"


def raw_results(rows: list[dict]) -> list[str]:
    """Markdown lines of a collapsed block with the raw results as JSON."""
    import json

    return [
        "",
        "<details><summary>raw results</summary>",
        "",
        "```json",
        json.dumps(rows, indent=1),
        "```",
        "</details>",
        "",
    ]
