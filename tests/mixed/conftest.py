"""Shared fixtures for the mixed-model tests."""

from __future__ import annotations

import pandas as pd
import pytest

from panelre.datasets import load


@pytest.fixture(scope="session")
def sleepstudy() -> pd.DataFrame:
    return load("sleepstudy")


@pytest.fixture(scope="session")
def dietox() -> pd.DataFrame:
    return load("dietox")
