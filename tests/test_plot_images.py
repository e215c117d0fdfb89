"""Every plot compared with a stored baseline image (matplotlib's own image comparison,
RMS tolerance below), so that a layout regression fails a test.

Regenerate the baselines after an intended change with
``PANELRE_UPDATE_BASELINES=1 python -m pytest tests/test_plot_images.py`` and look at
them before committing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.testing import setup  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402

import panelre as pr  # noqa: E402
from panelre import plots  # noqa: E402
from panelre.meta import effect_size, meta_analysis  # noqa: E402

BASELINE = Path(__file__).parent / "baseline"
UPDATE = os.environ.get("PANELRE_UPDATE_BASELINES") == "1"
# identical renderings give 0; a moved label or marker gives well over 1
TOLERANCE = 0.5


def _bcg_meta():
    es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=pr.datasets.load("bcg"))
    bcg = pr.datasets.load("bcg")
    labels = bcg["author"].str.split(",| and").str[0] + " " + bcg["year"].astype(str)
    return meta_analysis(es.yi, es.vi, labels=labels)


def _forest():
    return _bcg_meta().forest_plot(transform=np.exp, xlabel="Risk ratio")


def _funnel():
    return _bcg_meta().funnel_plot(xlabel="Log risk ratio")


def _caterpillar():
    m = pr.mixed("Reaction ~ Days + (Days | Subject)", pr.datasets.load("sleepstudy"))
    return m.plot_random_effects()


def _caterpillar_extremes():
    m = pr.mixed("Weight ~ Time + (Time | Pig)", pr.datasets.load("dietox"))
    return m.plot_random_effects(n_extremes=8)


def _shrinkage_intercept():
    m = pr.mixed("Reaction ~ Days + (1 | Subject)", pr.datasets.load("sleepstudy"))
    return m.plot_shrinkage()


def _shrinkage_slopes():
    m = pr.mixed("Reaction ~ Days + (Days | Subject)", pr.datasets.load("sleepstudy"))
    return m.plot_shrinkage()


def _panel_fits():
    g = pr.datasets.load("grunfeld")
    kw = {"entity": "firm", "time": "year"}
    f = "inv ~ value + capital"
    return pr.fixed_effects(f, g, **kw), pr.random_effects(f, g, **kw)


def _coefficients():
    fe, re = _panel_fits()
    return plots.coefficient_plot({"FE": fe, "RE": re})


def _effects():
    return plots.effects_plot(_panel_fits()[0])


PLOTS = {
    "forest": _forest,
    "funnel": _funnel,
    "caterpillar": _caterpillar,
    "caterpillar_extremes": _caterpillar_extremes,
    "shrinkage_intercept": _shrinkage_intercept,
    "shrinkage_slopes": _shrinkage_slopes,
    "coefficients": _coefficients,
    "effects": _effects,
}


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plot_matches_its_baseline(name: str, tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    setup()  # matplotlib's test settings: bundled fonts, fixed hinting
    fig = PLOTS[name]()
    actual = tmp_path / f"{name}.png"
    fig.savefig(actual, dpi=60)
    plt.close(fig)
    expected = BASELINE / f"{name}.png"
    if UPDATE:
        expected.write_bytes(actual.read_bytes())
    assert expected.exists(), f"no baseline {expected.name}; see the module docstring"
    diff = compare_images(str(expected), str(actual), tol=TOLERANCE)
    assert diff is None, diff
