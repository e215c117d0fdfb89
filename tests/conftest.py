"""Shared fixtures: bundled data and the stored R reference cases."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

import panelre as pr

REFERENCE = Path(__file__).parent / "reference"


@cache
def reference_cases() -> dict[str, dict]:
    """Every stored R case by id (the shared file plus our own fixtures)."""
    cases: dict[str, dict] = {}
    for path in [REFERENCE / "reference_r.json", REFERENCE / "panel" / "plm_extra.json"]:
        for case in json.loads(path.read_text())["cases"]:
            cases[case["id"]] = case
    return cases


@cache
def _dataset(name: str) -> pd.DataFrame:
    if name == "grunfeld_unbal":
        return pd.read_csv(REFERENCE / "panel" / "grunfeld_unbalanced.csv")
    return pr.datasets.load(name)


def dataset(name: str) -> pd.DataFrame:
    """A fresh copy of a data set used by the reference cases."""
    return _dataset(name).copy()


def r_names(values: dict[str, float]) -> dict[str, float]:
    """R's coefficient names to panelre's (``(Intercept)`` -> ``Intercept``)."""
    return {("Intercept" if k == "(Intercept)" else k): v for k, v in values.items()}


@pytest.fixture
def grunfeld() -> pd.DataFrame:
    return dataset("grunfeld")


@pytest.fixture
def grunfeld_unbalanced() -> pd.DataFrame:
    return dataset("grunfeld_unbal")


@pytest.fixture
def wagepan() -> pd.DataFrame:
    return dataset("wagepan")


@pytest.fixture
def wages() -> pd.DataFrame:
    return dataset("wages")


@pytest.fixture(autouse=True)
def _no_warning_leaks():
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        yield
