"""Cross-products of row maps from sufficient statistics (no pass over the rows).

For maps ``a_r = z_r L_a − H_a[t_r] − O_a[i_r]`` and ``b_r`` alike::

    Σ a b' = L_a'GL_b − L_a'S_t'H_b − L_a'S_e'O_b − H_a'S_tL_b + H_a'C_tH_b + H_a'F'O_b
             − O_a'S_eL_b + O_a'FH_b + O_a'C_eO_b

with ``G = Σzz'``, ``S_e``/``S_t`` the entity/period sums of z, ``C`` the counts and
``F`` the entity x period incidence (needed only when both maps mix period and entity
tables on an unbalanced panel). With observation weights the statistics are weighted
(``Σwzz'``, ``Σwz`` per group, ``C`` the group sums of w, ``F`` the weight of each
entity-period cell), and the same formula gives ``Σ w a b'``. Everything here is small
dense algebra on the host.
"""

from __future__ import annotations

import numpy as np

from panelre.stats._base import Groups, PanelStats, RowMap, Weighting

__all__ = ["cross", "column_sums", "group_sums", "derive", "corr2"]


def cross(stats: PanelStats, a: RowMap, b: RowMap) -> np.ndarray:
    """``Σ_r a_r b_r'`` for two row maps, shape (m_a, m_b).

    Examples
    --------
    >>> import pandas as pd
    >>> g = Groups(pd.Index([0, 1]), np.array([2.0, 2.0]), np.array([[3.0], [7.0]]))
    >>> st = PanelStats(4, np.array([[30.0]]), np.array([10.0]), g, None)
    >>> demean = RowMap(np.eye(1), entity_table=g.means)
    >>> float(cross(st, demean, demean)[0, 0])  # rows 1, 2 | 3, 4: within SS = 0.5 + 0.5
    1.0
    """
    out = a.L.T @ stats.gram @ b.L
    Ha, Hb, Oa, Ob = a.time_table, b.time_table, a.entity_table, b.entity_table
    e = stats.entity
    # products ordered so that no (groups x columns) intermediate is formed; S_e'O_b is
    # formed once (O_a'S_e is its transpose when O_a is O_b)
    sums_ob = None if Ob is None else e.sums.T @ Ob
    if Hb is not None:
        out -= a.L.T @ (stats.time.sums.T @ Hb)  # type: ignore[union-attr]
    if sums_ob is not None:
        out -= a.L.T @ sums_ob
    if Ha is not None:
        t = stats.time
        out -= (Ha.T @ t.sums) @ b.L  # type: ignore[union-attr]
        if Hb is not None:
            out += (Ha * t.weights[:, None]).T @ Hb  # type: ignore[union-attr]
        if Ob is not None:
            out += Ha.T @ stats.pattern().to_time(Ob)
    if Oa is not None:
        oa_sums = sums_ob.T if Oa is Ob else Oa.T @ e.sums  # type: ignore[union-attr]
        out -= oa_sums @ b.L
        if Hb is not None:
            out += stats.pattern().to_time(Oa).T @ Hb
        if Ob is not None:  # O_a'C_eO_b; C_e times the group means is S_e
            if Ob is e.means:
                out += oa_sums
            elif Oa is e.means:
                out += sums_ob
            else:
                out += (Oa * e.weights[:, None]).T @ Ob
    return out


def column_sums(stats: PanelStats, a: RowMap) -> np.ndarray:
    """``Σ_r w_r a_r``, shape (m,)."""
    out = stats.total @ a.L
    if a.time_table is not None:
        out = out - stats.time.weights @ a.time_table  # type: ignore[union-attr]
    if a.entity_table is not None:
        out = out - stats.entity.weights @ a.entity_table
    return out


def group_sums(stats: PanelStats, a: RowMap, dim: str) -> np.ndarray:
    """Sums of ``w_r a_r`` per entity or per period, shape (G, m)."""
    g = stats.groups(dim)
    out = g.sums @ a.L
    own, other = (
        (a.entity_table, a.time_table) if dim == "entity" else (a.time_table, a.entity_table)
    )
    if own is not None:
        out = out - g.weights[:, None] * own
    if other is not None:
        pattern = stats.pattern()
        out = out - (pattern.to_entity(other) if dim == "entity" else pattern.to_time(other))
    return out


def derive(stats: PanelStats, a: RowMap) -> PanelStats:
    """The statistics of the mapped rows ``a_r`` (as if they were a new z)."""
    gram = cross(stats, a, a)

    def groups(g: Groups, dim: str) -> Groups:
        return Groups(g.labels, g.counts, group_sums(stats, a, dim), g.weights)

    weighting = stats.weighting
    if weighting is not None:
        source = weighting.unweighted
        weighting = Weighting(weighting.kind, weighting.total, lambda: derive(source(), a))
    return PanelStats(
        n=stats.n,
        gram=(gram + gram.T) / 2,
        total=column_sums(stats, a),
        entity=groups(stats.entity, "entity"),
        time=None if stats.time is None else groups(stats.time, "time"),
        incidence=stats.incidence,
        weighting=weighting,
    )


def corr2(gram: np.ndarray, total: np.ndarray, n: float, u: np.ndarray, v: np.ndarray) -> float:
    """Squared correlation of ``z·u`` and ``z·v`` from ``Σzz'``, ``Σz`` and ``n``.

    Examples
    --------
    >>> z = np.array([[1.0, 2.0], [2.0, 4.1], [3.0, 6.0]])
    >>> r2 = corr2(z.T @ z, z.sum(0), 3, np.array([1.0, 0]), np.array([0, 1.0]))
    >>> bool(round(r2, 6) == round(np.corrcoef(z.T)[0, 1] ** 2, 6))
    True
    """
    su, sv = float(total @ u), float(total @ v)
    cuv = float(u @ gram @ v) - su * sv / n
    cuu = float(u @ gram @ u) - su * su / n
    cvv = float(v @ gram @ v) - sv * sv / n
    den = cuu * cvv
    return float(cuv**2 / den) if den > 0 else float("nan")
