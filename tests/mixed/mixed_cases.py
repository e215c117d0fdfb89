"""Reference cases and data sets for the mixed-model tests (a helper module, not tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from panelre.datasets import load

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
MIXED_REFERENCE = REFERENCE / "mixed"


def reference_cases(kind: str = "mixed") -> list[dict]:
    """Cases of the shared reference file (tests/reference/reference_r.json) of one kind."""
    data = json.loads((REFERENCE / "reference_r.json").read_text())
    return [c for c in data["cases"] if c["kind"] == kind]


def extra_cases() -> list[dict]:
    """lme4 fixtures made by tests/reference/mixed/make_mixed_reference.R."""
    return json.loads((MIXED_REFERENCE / "lme4_extra.json").read_text())["cases"]


def dataset(name: str) -> pd.DataFrame:
    local = MIXED_REFERENCE / f"{name}.csv"
    if local.exists():
        return pd.read_csv(local)
    return load(name)
