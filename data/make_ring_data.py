"""Generate the "double moon" data set of Assignment B (two interlocking half rings).

The construction follows Haykin's classic benchmark: two half rings of radius
``radius`` and width ``width``; the upper one is centred at the origin, the
lower one is flipped, shifted right by ``radius`` and shifted down by
``distance``.  A negative ``distance`` pulls the lower moon *up* into the upper
one, so no straight line separates the classes.

Output: a float64 array of shape (n_points, 3), columns (x1, x2, label),
label +1 for the upper moon and -1 for the lower one, rows shuffled.  The file
is deterministic for a given seed (NumPy's PCG64 stream is stable), so running

    python data/make_ring_data.py

rewrites ``source/gradient_tape/data/ring_data_-5.npy`` byte for byte.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

__all__ = ["make_double_moon", "default_path", "main"]

RADIUS = 10.0
WIDTH = 6.0
DISTANCE = -5.0
N_POINTS = 2000
SEED = 20191214

_REPO = Path(__file__).resolve().parent.parent


def default_path(distance: float = DISTANCE) -> Path:
    """Where the assignment expects the file: ``source/gradient_tape/data/ring_data_<d>.npy``."""
    return _REPO / "source" / "gradient_tape" / "data" / f"ring_data_{distance:g}.npy"


def _half_ring(rng: np.random.Generator, n: int, radius: float, width: float) -> np.ndarray:
    """``n`` points spread uniformly over the area of the upper half ring; shape (n, 2)."""
    inner, outer = radius - width / 2, radius + width / 2
    # sqrt of a uniform draw in [inner^2, outer^2] gives a density uniform in area,
    # like Haykin's rejection sampling, without wasting draws.
    rho = np.sqrt(rng.uniform(inner**2, outer**2, n))
    theta = rng.uniform(0.0, np.pi, n)
    return np.column_stack([rho * np.cos(theta), rho * np.sin(theta)])


def make_double_moon(n_points: int = N_POINTS, radius: float = RADIUS, width: float = WIDTH,
                     distance: float = DISTANCE, seed: int = SEED) -> np.ndarray:
    """The double-moon data set, shape (n_points, 3): columns x1, x2, label in {+1, -1}."""
    if n_points % 2:
        raise ValueError(f"n_points must be even (half per moon), got {n_points}")
    if not 0 < width < 2 * radius:
        raise ValueError(f"width must lie in (0, 2*radius), got width={width}, radius={radius}")
    rng = np.random.default_rng(seed)
    half = n_points // 2
    upper = _half_ring(rng, half, radius, width)
    # The lower moon is the upper one mirrored (y -> -y), moved by (radius, -distance).
    lower = _half_ring(rng, half, radius, width) * [1.0, -1.0] + [radius, -distance]
    data = np.vstack([
        np.column_stack([upper, np.ones(half)]),
        np.column_stack([lower, -np.ones(half)]),
    ])
    return data[rng.permutation(n_points)]


def main(argv: list[str] | None = None) -> int:
    """Command line: write the data set to ``--out`` (default: the assignment's data folder)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output .npy path")
    parser.add_argument("--distance", type=float, default=DISTANCE)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    out = args.out or default_path(args.distance)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = make_double_moon(distance=args.distance, seed=args.seed)
    np.save(out, data)
    print(f"wrote {out} {data.shape} {data.dtype}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
