"""Generators of random panels for the property and fuzz suites."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st


def make_panel(
    seed: int,
    n_entities: int,
    n_periods: int,
    *,
    drop: float = 0.0,
    singletons: int = 0,
    effect_sd: float = 1.0,
) -> pd.DataFrame:
    """A random panel: y = 1 + 0.5 x1 − 0.3 x2 + 0.2 z + uᵢ + eᵢₜ with a time-invariant z."""
    rng = np.random.default_rng(seed)
    i = np.repeat(np.arange(n_entities), n_periods)
    t = np.tile(np.arange(n_periods), n_entities) + 2000
    u = effect_sd * rng.normal(size=n_entities)
    x1 = rng.normal(size=i.size) + 0.5 * u[i]
    x2 = rng.normal(size=i.size)
    z = rng.normal(size=n_entities)[i]
    y = 1 + 0.5 * x1 - 0.3 * x2 + 0.2 * z + u[i] + rng.normal(size=i.size)
    df = pd.DataFrame({"id": i, "year": t, "x1": x1, "x2": x2, "z": z, "y": y})
    if drop:
        keep = rng.random(len(df)) > drop
        keep[::n_periods] = True  # every entity keeps at least one row
        keep[1::n_periods] = True  # ... and two, so it has within variation
        df = df[keep]
    if singletons:
        extra = pd.DataFrame(
            {
                "id": n_entities + np.arange(singletons),
                "year": 2000,
                "x1": rng.normal(size=singletons),
                "x2": rng.normal(size=singletons),
                "z": rng.normal(size=singletons),
                "y": rng.normal(size=singletons),
            }
        )
        df = pd.concat([df, extra], ignore_index=True)
    return df.reset_index(drop=True)


@st.composite
def panels(draw: st.DrawFn, min_entities: int = 12, max_entities: int = 40) -> pd.DataFrame:
    """Balanced or unbalanced panels, with gaps and possibly singletons."""
    return make_panel(
        seed=draw(st.integers(0, 2**31 - 1)),
        n_entities=draw(st.integers(min_entities, max_entities)),
        n_periods=draw(st.integers(3, 7)),
        drop=draw(st.sampled_from([0.0, 0.0, 0.2, 0.35])),
        singletons=draw(st.sampled_from([0, 0, 1, 3])),
    )
