"""Numerical identities: analytic gradients, sufficient statistics, 1-D solver = general path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from panelre._random_intercept import (
    RandomInterceptFit,
    _validate,
    fit_random_intercept,
    random_intercept_criterion,
)
from panelre.mixed import mixed
from panelre.mixed.criterion import ThetaLayout, evaluate
from panelre.mixed.stats import sufficient_stats


def _simulated(seed: int, q: int, groups: int = 30):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 9, size=groups)
    codes = np.repeat(np.arange(groups), sizes)
    rng.shuffle(codes)
    n = codes.size
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    z = np.column_stack([np.ones(n), rng.normal(size=(n, q - 1))])
    b = rng.normal(size=(groups, q))
    y = x @ np.array([1.0, 0.5, -0.3]) + (z * b[codes]).sum(axis=1) + rng.normal(size=n)
    return x, z, y, codes, groups


STRUCTURES = {
    "correlated_q2": (2, ((0, 1),)),
    "independent_q2": (2, ((0,), (1,))),
    "correlated_q3": (3, ((0, 1, 2),)),
    "mixed_blocks_q3": (3, ((0,), (1, 2))),
    "single_q1": (1, ((0,),)),
}


@pytest.mark.parametrize("reml", [True, False], ids=["reml", "ml"])
@pytest.mark.parametrize("structure", list(STRUCTURES), ids=list(STRUCTURES))
def test_analytic_gradient_matches_numerical(structure, reml):
    q, blocks = STRUCTURES[structure]
    x, z, y, codes, g = _simulated(7, q)
    stats = sufficient_stats(x, z, y, codes, g)
    layout = ThetaLayout.from_blocks(q, blocks)
    rng = np.random.default_rng(11)
    for _ in range(5):
        theta = rng.uniform(-1.0, 1.0, size=layout.size)
        theta[layout.is_diagonal] = rng.uniform(0.2, 2.0, size=int(layout.is_diagonal.sum()))
        analytic = evaluate(theta, stats, layout, reml).gradient
        numerical = optimize.approx_fprime(
            theta, lambda t: evaluate(t, stats, layout, reml).value, 1e-7
        )
        np.testing.assert_allclose(analytic, numerical, rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("reml", [True, False], ids=["reml", "ml"])
def test_random_intercept_derivative_matches_numerical(reml):
    x, z, y, codes, g = _simulated(3, 1)
    stats = sufficient_stats(x, z, y, codes, g)
    inputs = _validate(
        stats.counts,
        stats.ztx[:, 0, :] / stats.counts[:, None],
        stats.zty[:, 0] / stats.counts,
        stats.total[:-1, :-1],
        stats.total[:-1, -1],
        stats.total[-1, -1],
        reml,
    )
    for lam in (0.0, 0.05, 0.7, 3.0):
        at = random_intercept_criterion(lam, inputs)
        value, grad = at.value, at.grad
        h = 1e-6 * max(lam, 1.0)
        if lam == 0.0:
            num = (random_intercept_criterion(h, inputs).value - value) / h
            np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-4)
        else:
            up = random_intercept_criterion(lam + h, inputs).value
            down = random_intercept_criterion(lam - h, inputs).value
            np.testing.assert_allclose(grad, (up - down) / (2 * h), rtol=1e-5, atol=1e-6)
        # the 1-D criterion is the general criterion at θ = sqrt(λ)
        general = evaluate(
            np.array([np.sqrt(lam)]),
            stats,
            ThetaLayout.from_blocks(1, ((0,),)),
            reml,
            gradient=False,
        ).value
        np.testing.assert_allclose(value, general, rtol=1e-12)


def test_sufficient_stats_equal_a_loop_over_groups():
    x, z, y, codes, g = _simulated(5, 2)
    stats = sufficient_stats(x, z, y, codes, g)
    for i in (0, 7, g - 1):
        rows = codes == i
        zi, xi, yi = z[rows], x[rows], y[rows]
        np.testing.assert_allclose(stats.ztz[i], zi.T @ zi)
        np.testing.assert_allclose(stats.ztx[i], zi.T @ xi)
        np.testing.assert_allclose(stats.zty[i], zi.T @ yi)
        assert stats.counts[i] == rows.sum()
    np.testing.assert_allclose(stats.total[:-1, :-1], x.T @ x)
    np.testing.assert_allclose(stats.total[-1, -1], y @ y)


@pytest.mark.parametrize("reml", [True, False], ids=["reml", "ml"])
def test_one_dimensional_solver_agrees_with_general_optimiser(reml):
    x, z, y, codes, g = _simulated(9, 1)
    df = pd.DataFrame({"y": y, "x1": x[:, 1], "x2": x[:, 2], "g": codes, "one": 1.0})
    ri = mixed("y ~ x1 + x2 + (1 | g)", df, reml=reml)  # 1-D Brent path
    general = mixed("y ~ x1 + x2 + (0 + one | g)", df, reml=reml)  # L-BFGS-B path
    np.testing.assert_allclose(ri.reml_criterion, general.reml_criterion, rtol=1e-10)
    np.testing.assert_allclose(ri.params, general.params, rtol=1e-7)
    np.testing.assert_allclose(ri.cov_re.to_numpy(), general.cov_re.to_numpy(), rtol=1e-5)


def test_fit_random_intercept_contract():
    x, z, y, codes, g = _simulated(2, 1)
    stats = sufficient_stats(x, z, y, codes, g)
    fit = fit_random_intercept(
        stats.counts,
        stats.ztx[:, 0, :] / stats.counts[:, None],
        stats.zty[:, 0] / stats.counts,
        x.T @ x,
        x.T @ y,
        float(y @ y),
        reml=True,
    )
    assert isinstance(fit, RandomInterceptFit)
    assert fit.converged and abs(fit.gradient) < 1e-6
    assert fit.beta.shape == (3,) and fit.cov_beta.shape == (3, 3)
    np.testing.assert_allclose(fit.criterion, -2 * fit.loglike)
    with pytest.raises(AttributeError):
        fit.sigma2_u = 1.0  # frozen


def test_fit_random_intercept_boundary_is_converged():
    rng = np.random.default_rng(1)
    codes = np.repeat(np.arange(20), 5)
    x = np.column_stack([np.ones(100), rng.normal(size=100)])
    y = 1 + x[:, 1] + rng.normal(size=100)
    stats = sufficient_stats(x, x[:, :1], y, codes, 20)
    fit = fit_random_intercept(
        stats.counts,
        stats.ztx[:, 0, :] / 5,
        stats.zty[:, 0] / 5,
        x.T @ x,
        x.T @ y,
        float(y @ y),
        reml=False,
    )
    assert fit.sigma2_u == 0.0 and fit.converged and fit.gradient >= 0
    ols = np.linalg.lstsq(x, y, rcond=None)[0]
    np.testing.assert_allclose(fit.beta, ols, rtol=1e-10)
    np.testing.assert_allclose(fit.sigma2_e, np.sum((y - x @ ols) ** 2) / 100, rtol=1e-10)
