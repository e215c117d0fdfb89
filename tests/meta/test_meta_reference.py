"""Every metafor reference case (shared reference_r.json and our metafor_extra.json)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from panelre.datasets import load
from panelre.meta import effect_size, meta_analysis

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
SHARED = json.loads((REFERENCE / "reference_r.json").read_text())["cases"]
EXTRA = json.loads((REFERENCE / "meta" / "metafor_extra.json").read_text())["cases"]
CASES = [c for c in SHARED + EXTRA if c["kind"] in ("meta", "effect_size")]
META = [c for c in CASES if c["kind"] == "meta"]
EFFECT = [c for c in CASES if c["kind"] == "effect_size"]

# Closed-form and iterative estimators alike are solved exactly here, and metafor's files were
# made with threshold/tol 1e-13, so everything is compared far tighter than the default 1e-6.
RTOL = 1e-9

pytestmark = pytest.mark.reference


def _bcg() -> pd.DataFrame:
    return load("bcg")


def _normand() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "meta" / "normand1999.csv")


def _effects(dataset: str) -> pd.DataFrame:
    """The yi/vi table a case used (same rows as R)."""
    if dataset.startswith("bcg"):
        es = effect_size("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=_bcg())
        es = pd.concat([_bcg(), es], axis=1)
        return es.iloc[[4, 8, 10, 12]] if dataset == "bcg_sub" else es
    measure = dataset.rsplit("_", 1)[1].upper()
    es = effect_size(
        measure,
        m1i="m1i",
        m2i="m2i",
        sd1i="sd1i",
        sd2i="sd2i",
        n1i="n1i",
        n2i="n2i",
        data=_normand(),
    )
    return pd.concat([_normand(), es], axis=1)


def _close(actual: object, expected: object, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=1e-14
    )


def _effect_size_inputs(case: dict) -> pd.DataFrame:
    if case["dataset"] == "bcg":
        return effect_size(case["measure"], ai="tpos", bi="tneg", ci="cpos", di="cneg", data=_bcg())
    if case["dataset"] == "zero_cells":
        return effect_size(
            case["measure"], data=pd.DataFrame(case["inputs"]), ai="ai", bi="bi", ci="ci", di="di"
        )
    return effect_size(
        case["measure"],
        m1i="m1i",
        m2i="m2i",
        sd1i="sd1i",
        sd2i="sd2i",
        n1i="n1i",
        n2i="n2i",
        data=_normand(),
    )


@pytest.mark.parametrize("case", EFFECT, ids=[c["id"] for c in EFFECT])
def test_effect_size_reference(case: dict) -> None:
    es = _effect_size_inputs(case)
    _close(es.yi, case["yi"])
    _close(es.vi, case["vi"])


def _fit(case: dict):  # type: ignore[no-untyped-def]
    data = _effects(case["dataset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # boundary warnings on the homogeneous subset
        return meta_analysis(
            "yi",
            "vi",
            data=data,
            method=case["method"],
            test=case["test"],
            moderators=case.get("formula"),
        )


@pytest.mark.parametrize("case", META, ids=[c["id"] for c in META])
def test_meta_reference(case: dict) -> None:
    m = _fit(case)
    assert m.k == case["k"]
    for name in ("tau2", "i2", "h2", "q", "q_pvalue", "weights"):
        _close(getattr(m, name), case[name])
    if case.get("tau2_se") is not None:
        _close(m.tau2_se, case["tau2_se"])
    else:
        assert np.isnan(m.tau2_se)
    if "formula" in case:
        names = list(case["estimate"])
        for name, ours in (
            ("estimate", m.estimate),
            ("se", m.se),
            ("pvalue", m.pvalue),
            ("ci_lower", m.ci[0]),
            ("ci_upper", m.ci[1]),
        ):
            assert list(ours.index) == names
            _close(ours, [case[name][n] for n in names])
        _close(m.qm, case["qm"])
        _close(m.qm_pvalue, case["qm_pvalue"])
        assert m.qm_df == tuple(np.atleast_1d(case["qm_df"]).astype(int))
        _close(m.r2, case["r2"])
    else:
        for name in ("estimate", "se", "ci", "pvalue"):
            _close(getattr(m, name), case[name])
        if case["method"] == "FE":
            assert m.pi is None and case.get("pi") is None
        else:
            _close(m.pi, case["pi"])


TAU2_CI = [c for c in META if c.get("tau2_ci") is not None]
# metafor caps the Q-profile search at tau2.max = max(100, 10 * tau2) and reports the cap as
# the bound; panelre searches without a cap. For normand1999 MD (DL) metafor's upper bound is
# the cap 10 * 205.41; the root itself is the one metafor finds under REML (normand1999_md_REML).
CAPPED = {"normand1999_md_DL"}


@pytest.mark.parametrize("case", TAU2_CI, ids=[c["id"] for c in TAU2_CI])
def test_tau2_q_profile_reference(case: dict) -> None:
    m = _fit(case)
    if case["id"] in CAPPED:
        assert case["tau2_ci"][1] == pytest.approx(10 * case["tau2"], rel=1e-12)
        other = next(c for c in META if c["id"] == "normand1999_md_REML_knha")
        _close(m.tau2_ci, [case["tau2_ci"][0], other["tau2_ci"][1]])
    else:
        _close(m.tau2_ci, case["tau2_ci"])


L1O = [c for c in META if "leave_one_out" in c]


@pytest.mark.parametrize("case", L1O, ids=[c["id"] for c in L1O])
def test_leave_one_out_reference(case: dict) -> None:
    loo = _fit(case).leave_one_out()
    ref = case["leave_one_out"]
    assert len(loo) == case["k"]
    for ours, theirs in (
        ("estimate", "estimate"),
        ("se", "se"),
        ("pvalue", "pvalue"),
        ("lower", "ci_lower"),
        ("upper", "ci_upper"),
        ("q", "q"),
        ("q_pvalue", "q_pvalue"),
        ("i2", "i2"),
        ("h2", "h2"),
        ("tau2", "tau2"),
    ):
        if ref.get(theirs) is None:
            assert ours not in loo.columns
            continue
        _close(loo[ours], ref[theirs])


def test_reference_files_cover_the_brief() -> None:
    ids = {c["id"] for c in CASES}
    for method in ("ML", "PM", "HE", "SJ", "EB", "HS"):
        assert f"bcg_rr_{method}" in ids
    assert {
        "bcg_rr_DL_knha",
        "bcg_rr_ablat_REML",
        "bcg_rr_DL_l1o",
        "normand1999_escalc_smd",
        "normand1999_escalc_md",
        "normand1999_smd_REML",
    } <= ids
    assert all("call" in c for c in EXTRA)
