"""Every panel plot renders to PNG."""

from __future__ import annotations

import numpy as np
import pytest

import panelre as pr
from panelre import plots

F = "inv ~ value + capital"


@pytest.fixture(scope="module")
def fits():
    g = pr.datasets.load("grunfeld")
    kw = {"entity": "firm", "time": "year"}
    return pr.fixed_effects(F, g, **kw), pr.random_effects(F, g, **kw)


def _png(fig, tmp_path, name):
    path = tmp_path / f"{name}.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_coefficient_plot(fits, tmp_path):
    fe, re = fits
    _png(plots.coefficient_plot({"FE": fe, "RE": re}, intercept=True), tmp_path, "coef")


@pytest.mark.parametrize("which", [0, 1])
def test_effects_plot(fits, tmp_path, which):
    _png(plots.effects_plot(fits[which]), tmp_path, f"effects{which}")


def test_shrinkage_and_residual_plots(fits, tmp_path):
    fe, re = fits
    _png(plots.shrinkage_plot(re), tmp_path, "shrink")
    _png(plots.residual_plot(fe), tmp_path, "resid")
    with pytest.raises(pr.InvalidParameterError, match="random-effects"):
        plots.shrinkage_plot(fe)


def test_fixed_effect_intervals_match_plm_formula(fits):
    """The intervals are effect ± z·se with R plm's ``summary(fixef(...))`` standard errors
    (tests/reference/panel/plm_fixef_se.json, the call stored beside the numbers; measured
    agreement 4e-15)."""
    import json
    from pathlib import Path

    from scipy import stats

    ref = json.loads(
        (Path(__file__).parent / "reference" / "panel" / "plm_fixef_se.json").read_text()
    )
    fe, _ = fits
    frame = plots._effect_intervals(fe, 0.95)
    assert frame.index.tolist() == ref["firm"]
    np.testing.assert_allclose(frame["effect"], ref["estimate"], rtol=1e-10)
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose((frame["upper"] - frame["effect"]) / z, ref["std_error"], rtol=1e-10)
    np.testing.assert_allclose((frame["effect"] - frame["lower"]) / z, ref["std_error"], rtol=1e-10)


def test_cli_plot_option(tmp_path):
    from panelre.cli import main

    target = tmp_path / "coef.png"
    assert (
        main(["fit", "grunfeld", F, "--entity", "firm", "--time", "year", "--plot", str(target)])
        == 0
    )
    assert target.exists()
