"""Specification tests and automated model selection."""

from __future__ import annotations

from panelre.specification._base import TestResult
from panelre.specification.cross_section import cross_sectional_dependence
from panelre.specification.hausman import hausman, hausman_regression
from panelre.specification.lagrange import breusch_pagan
from panelre.specification.poolability import f_test_effects
from panelre.specification.select import Selection, select
from panelre.specification.serial import serial_correlation
from panelre.specification.unit_root import unit_root

__all__ = [
    "TestResult",
    "hausman",
    "hausman_regression",
    "breusch_pagan",
    "f_test_effects",
    "serial_correlation",
    "cross_sectional_dependence",
    "unit_root",
    "Selection",
    "select",
]
