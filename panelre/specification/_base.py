"""The TestResult value shared by every specification test (defined with the results)."""

from __future__ import annotations

from panelre.results import TestResult

__all__ = ["TestResult"]
