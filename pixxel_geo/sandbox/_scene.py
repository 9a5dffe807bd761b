"""Spatial layout of synthetic scenes: abundance maps of the endmembers.

A scene is painted layer by layer into an abundance array of shape
``(k, H, W)`` (``k`` = number of endmembers, fractions summing to one per
pixel): a background of soil and vegetation, field parcels with crops,
roads, a river or coastline, a town, clouds and their shadows.  Smooth
random fields come from bilinear up-sampling of coarse random grids done as
two small matrix products, which keeps everything numpy-only and fast.

Everything is driven by one ``numpy.random.Generator`` so a seed fixes the scene.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pixxel_geo.sandbox.spectra import ENDMEMBER_NAMES

Float = NDArray[np.float32]

_IDX = {name: i for i, name in enumerate(ENDMEMBER_NAMES)}

#: Landscape kinds understood by :func:`paint_scene`.
LANDSCAPES = ("agricultural", "coastal_city", "delta", "forest", "desert")

_PLACE_KEYWORDS = (
    ("delta", "delta"),
    ("desert", "desert"),
    ("thar", "desert"),
    ("forest", "forest"),
    ("ghats", "forest"),
    ("coast", "coastal_city"),
    ("city", "coastal_city"),
    ("bay", "coastal_city"),
)


def landscape_for(place: str) -> str:
    """Landscape kind for a place name, by keyword; ``"agricultural"`` otherwise."""
    lowered = place.lower()
    for keyword, kind in _PLACE_KEYWORDS:
        if keyword in lowered:
            return kind
    return "agricultural"


@dataclass
class Scene:
    """A painted scene.

    Attributes:
        abundances: float32 ``(k, H, W)`` endmember fractions (sum to 1 per pixel).
        brightness: float32 ``(H, W)`` illumination factor (terrain shading, cloud shadow).
        valid: bool ``(H, W)``, False outside the image footprint (written as nodata).
        footprint_px: the footprint's corners as (col, row) pixel-edge coordinates, closed ring,
            counterclockwise on the north-up map.
        cloud: float32 ``(H, W)`` cloud opacity (0 clear .. 1 opaque), or ``None`` for a clear scene.
        shadow: float32 ``(H, W)`` strength of cloud shadow (0 .. 1), or ``None``.
    """

    abundances: Float
    brightness: Float
    valid: NDArray[np.bool_]
    footprint_px: list[tuple[float, float]]
    cloud: Float | None = None
    shadow: Float | None = None

    def class_map(self) -> NDArray[np.int16]:
        """Index of the dominant endmember per pixel (``-1`` outside the footprint)."""
        cls = np.argmax(self.abundances, axis=0).astype(np.int16)
        cls[~self.valid] = -1
        return cls


def _interp_matrix(n_out: int, n_in: int) -> Float:
    """Matrix (n_out, n_in) that up-samples a coarse axis with smoothstep interpolation."""
    pos = np.linspace(0.0, n_in - 1.0, n_out)
    lo = np.clip(np.floor(pos).astype(int), 0, max(n_in - 2, 0))
    t = pos - lo
    t = t * t * (3.0 - 2.0 * t)
    m = np.zeros((n_out, n_in), dtype=np.float32)
    rows = np.arange(n_out)
    m[rows, lo] = 1.0 - t
    if n_in > 1:
        m[rows, lo + 1] += t
    return m


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], cell_px: float, octaves: int = 3) -> Float:
    """Fractal value noise, roughly zero-mean with unit standard deviation.

    Args:
        rng: random source.
        shape: (H, W) of the output.
        cell_px: size in pixels of the coarsest features.
        octaves: number of halvings of the feature size added on top.
    """
    h, w = shape
    out = np.zeros(shape, dtype=np.float32)
    amp = 1.0
    cell = float(cell_px)
    for _ in range(octaves):
        gh, gw = max(2, int(np.ceil(h / cell)) + 1), max(2, int(np.ceil(w / cell)) + 1)
        coarse = rng.standard_normal((gh, gw)).astype(np.float32)
        out += amp * (_interp_matrix(h, gh) @ coarse @ _interp_matrix(w, gw).T)
        amp *= 0.5
        cell = max(2.0, cell / 2.0)
    std = float(out.std()) or 1.0
    return (out - float(out.mean())) / std


class _Painter:
    """Alpha-composites material mixtures into an abundance array."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.a = np.zeros((len(ENDMEMBER_NAMES), *shape), dtype=np.float32)

    def paint(self, alpha: Float | float, mix: dict[str, Float | float]) -> None:
        """Blend ``mix`` (fractions summing to ~1, scalars or arrays) over the scene with ``alpha``."""
        if isinstance(alpha, float):
            alpha = np.float32(alpha)  # type: ignore[assignment]
        keep = 1.0 - alpha
        self.a *= keep
        total = sum(mix.values())
        for name, frac in mix.items():
            self.a[_IDX[name]] += alpha * (frac / total)


def _grid_edges(rng: np.random.Generator, n: int, lo: int, hi: int) -> NDArray[np.int64]:
    sizes = rng.integers(lo, hi, size=n // lo + 2)
    edges = np.cumsum(sizes) - rng.integers(0, hi)
    return edges[(edges > 0) & (edges < n)]


def _parcels(
    p: _Painter, rng: np.random.Generator, shape: tuple[int, int], alpha: Float, growth: float | None = None
) -> None:
    """Rectilinear field parcels of crops, bare soil and stubble, with tracks between them.

    ``growth`` (0-1) scales the crops' vigour for a point in the season (0: bare fields
    before sowing or after harvest); the parcels themselves depend on ``rng`` only.
    """
    h, w = shape
    ys = _grid_edges(rng, h, 28, 110)
    xs = _grid_edges(rng, w, 28, 110)
    row_id = np.searchsorted(ys, np.arange(h), side="right")
    col_id = np.searchsorted(xs, np.arange(w), side="right")
    n_rows, n_cols = len(ys) + 1, len(xs) + 1
    kind = rng.choice(3, size=(n_rows, n_cols), p=[0.55, 0.25, 0.20])
    vigour = rng.uniform(0.55, 0.98, size=(n_rows, n_cols)).astype(np.float32)
    pid_kind = kind[row_id[:, None], col_id[None, :]]
    pid_vig = vigour[row_id[:, None], col_id[None, :]]
    texture = 0.08 * smooth_field(rng, shape, 24.0, octaves=2)
    if growth is not None:
        pid_vig = pid_vig * np.float32(min(max(growth, 0.0), 1.0))
    veg = np.where(pid_kind == 0, np.clip(pid_vig + texture, 0.0, 1.0), 0.0).astype(np.float32)
    dry = np.where(pid_kind == 2, 0.7 + texture, 0.1).astype(np.float32)
    soil = np.clip(1.0 - veg - dry, 0.05, 1.0)
    p.paint(alpha, {"vegetation": veg, "dry_vegetation": dry, "soil": soil})
    # farm tracks along some parcel edges
    track = np.zeros(shape, dtype=np.float32)
    for y in ys[rng.random(len(ys)) < 0.6]:
        track[max(0, y - 1) : y + 1, :] = 1.0
    for x in xs[rng.random(len(xs)) < 0.6]:
        track[:, max(0, x - 1) : x + 1] = 1.0
    p.paint(alpha * track * 0.8, {"soil": 0.7, "asphalt": 0.3})


def _river_masks(rng: np.random.Generator, shape: tuple[int, int], width_px: float) -> tuple[Float, Float]:
    """A meandering river running top to bottom: (water mask, riparian bank mask)."""
    h, w = shape
    y = np.arange(h, dtype=np.float32)
    x0 = rng.uniform(0.2, 0.8) * w
    amp = rng.uniform(0.04, 0.12) * w
    period = rng.uniform(0.6, 1.4) * h
    wander = smooth_field(rng, (h, 1), h / 4.0, octaves=2)[:, 0] * 0.03 * w
    centre = x0 + amp * np.sin(2 * np.pi * y / period + rng.uniform(0, 2 * np.pi)) + wander
    half = width_px / 2.0 * np.clip(1.0 + 0.25 * smooth_field(rng, (h, 1), h / 6.0)[:, 0], 0.5, 2)
    dist = np.abs(np.arange(w, dtype=np.float32)[None, :] - centre[:, None])
    water = np.clip(half[:, None] - dist + 0.5, 0.0, 1.0).astype(np.float32)
    bank = np.clip((half[:, None] * 2.5 - dist) / 3.0, 0.0, 1.0).astype(np.float32)
    return water, bank


def _rivers(p: _Painter, rng: np.random.Generator, shape: tuple[int, int], widths: list[float], turbid: float) -> None:
    """Rivers with wooded banks; all banks are painted before any water so channels stay open."""
    masks = [_river_masks(rng, shape, width) for width in widths]
    for _, bank in masks:
        p.paint(bank * 0.8, {"forest": 0.6, "vegetation": 0.3, "soil": 0.1})
    for water, _ in masks:
        p.paint(water, {"turbid_water": turbid, "water": 1.0 - turbid})


def _town(p: _Painter, rng: np.random.Generator, shape: tuple[int, int], radius_px: float) -> Float:
    """A built-up patch with a street grid, roofs, concrete and a few trees; returns its mask."""
    h, w = shape
    cy, cx = rng.uniform(0.25, 0.75) * h, rng.uniform(0.25, 0.75) * w
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(yy - cy, xx - cx) / radius_px
    blob = (1.0 - r) + 0.35 * smooth_field(rng, shape, radius_px / 2.0, octaves=2)
    mask = np.clip(blob * 6.0, 0.0, 1.0).astype(np.float32)
    block = int(rng.integers(18, 30))
    street = ((yy.astype(np.int32) % block) < 2) | ((xx.astype(np.int32) % block) < 2)
    lot = 8
    lot_id = (yy.astype(np.int32) // lot) * 7919 + (xx.astype(np.int32) // lot)
    lot_rand = np.random.default_rng(int(rng.integers(2**31))).random(int(lot_id.max()) + 1)
    pick = lot_rand[lot_id].astype(np.float32)
    roof = (pick < 0.25).astype(np.float32)
    concrete = ((pick >= 0.25) & (pick < 0.85)).astype(np.float32)
    trees = (pick >= 0.85).astype(np.float32)
    p.paint(
        mask,
        {
            "roof": roof * 0.85 + 0.05,
            "concrete": concrete * 0.85 + 0.05,
            "vegetation": trees * 0.8 + 0.02,
            "asphalt": 0.05,
        },
    )
    p.paint(mask * street, {"asphalt": 0.9, "concrete": 0.1})
    return mask


def _coast(p: _Painter, rng: np.random.Generator, shape: tuple[int, int]) -> Float:
    """Sea on the west side with a wavy shoreline, a beach and turbid near-shore water."""
    h, w = shape
    base = rng.uniform(0.25, 0.4) * w
    line = base + smooth_field(rng, (h, 1), h / 3.0, octaves=3)[:, 0] * 0.06 * w
    dist = np.arange(w, dtype=np.float32)[None, :] - line[:, None]  # >0 on land
    sea = np.clip(0.5 - dist, 0.0, 1.0).astype(np.float32)
    beach = np.clip(1.0 - np.abs(dist - 4.0) / 5.0, 0.0, 1.0).astype(np.float32) * (1 - sea)
    turbid = np.clip(1.0 + dist / (0.05 * w), 0.0, 1.0).astype(np.float32)
    p.paint(beach, {"sand": 1.0})
    p.paint(sea, {"turbid_water": turbid * 0.8, "water": 1.0 - turbid * 0.8})
    return sea


def _pivots(p: _Painter, rng: np.random.Generator, shape: tuple[int, int], count: int) -> None:
    """Centre-pivot irrigated circles (green discs) as seen at desert edges."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(count):
        rad = rng.uniform(0.03, 0.07) * min(h, w)
        cy, cx = rng.uniform(rad, h - rad), rng.uniform(rad, w - rad)
        disc = np.clip(rad - np.hypot(yy - cy, xx - cx), 0.0, 1.0).astype(np.float32)
        vig = float(rng.uniform(0.6, 0.95))
        p.paint(disc, {"vegetation": vig, "soil": 1.0 - vig})


def paint_scene(
    rng: np.random.Generator,
    shape: tuple[int, int],
    landscape: str,
    cloud_cover: float,
    *,
    growth: float | None = None,
    cloud_rng: np.random.Generator | None = None,
) -> Scene:
    """Paint a full scene of the given landscape kind.

    Args:
        rng: random source (fixes the scene).
        shape: (H, W) in pixels.
        landscape: one of :data:`LANDSCAPES`.
        cloud_cover: percentage (0-100) of the footprint under cloud.
        growth: crop vigour (0-1) of agricultural parcels at this point of the season
            (``None``: each parcel's own).
        cloud_rng: random source of the clouds (default ``rng``): another one gives the same
            ground under other clouds, as on another day.

    Returns:
        The scene's abundances, brightness, validity mask and footprint.

    Raises:
        ValueError: for an unknown landscape kind.
    """
    if landscape not in LANDSCAPES:
        raise ValueError(f"unknown landscape {landscape!r}; expected one of {LANDSCAPES}")
    h, w = shape
    scale = min(h, w) / 1024.0
    p = _Painter(shape)
    # background: soil / natural vegetation / dry grass mosaic
    f1 = smooth_field(rng, shape, 220 * scale + 8, octaves=4)
    f2 = smooth_field(rng, shape, 160 * scale + 8, octaves=4)
    veg = np.clip(0.45 + 0.25 * f1, 0.0, 1.0)
    dry = np.clip(0.25 + 0.15 * f2, 0.0, 1.0)
    p.paint(1.0, {"vegetation": veg, "dry_vegetation": dry, "soil": np.clip(1 - veg - dry, 0.05, 1)})
    ones = np.ones(shape, dtype=np.float32)
    shade: Float | None = None
    if landscape == "agricultural":
        _parcels(p, rng, shape, ones * 0.95, growth)
        _rivers(p, rng, shape, [22 * scale + 3], turbid=0.5)
        _town(p, rng, shape, 120 * scale + 6)
    elif landscape == "coastal_city":
        _parcels(p, rng, shape, np.clip(f1 + 0.3, 0.0, 1.0))
        _town(p, rng, shape, 380 * scale + 10)
        _coast(p, rng, shape)
    elif landscape == "delta":
        _parcels(p, rng, shape, ones * 0.9)
        mangrove = np.clip(f2 * 2.0, 0.0, 1.0)
        p.paint(mangrove, {"forest": 0.85, "turbid_water": 0.15})
        _rivers(p, rng, shape, [width * scale + 2 for width in (44, 30, 20, 12)], turbid=0.85)
        _town(p, rng, shape, 70 * scale + 5)
    elif landscape == "forest":
        canopy = np.clip(0.85 + 0.1 * smooth_field(rng, shape, 12 * scale + 3, octaves=2), 0, 1)
        p.paint(np.clip(f2 * 3.0 + 2.0, 0.0, 1.0), {"forest": canopy, "vegetation": 1 - canopy})
        clearing = np.clip(smooth_field(rng, shape, 90 * scale + 6, octaves=3) * 3.0 - 4.0, 0, 1)
        p.paint(clearing, {"vegetation": 0.5, "soil": 0.4, "dry_vegetation": 0.1})
        _rivers(p, rng, shape, [16 * scale + 2], turbid=0.3)
    else:  # desert
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        dune_phase = (0.8 * xx + 0.6 * yy) / (22.0 * scale + 2) + 2.5 * smooth_field(
            rng, shape, 180 * scale + 8, octaves=2
        )
        dunes = 0.5 + 0.5 * np.sin(dune_phase)
        shade = 0.95 + 0.05 * np.cos(dune_phase)  # lee and stoss slopes of the dunes
        sandy = np.clip(f1 * 1.5 + 1.0, 0.0, 1.0)
        p.paint(sandy, {"sand": 0.85 + 0.1 * dunes, "soil": 0.15 - 0.1 * dunes + 0.01})
        _pivots(p, rng, shape, int(rng.integers(3, 7)))
        _town(p, rng, shape, 50 * scale + 5)

    brightness = (1.0 + 0.05 * smooth_field(rng, shape, 64 * scale + 4, octaves=3)).astype(np.float32)
    if shade is not None:
        brightness *= shade

    valid, footprint = _swath(rng, shape)
    cloud = shadow = None
    if cloud_cover > 0:
        cloud, shadow = _clouds(p, cloud_rng or rng, shape, cloud_cover / 100.0, valid, brightness)
    return Scene(p.a, brightness, valid, footprint, cloud, shadow)


def _swath(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[NDArray[np.bool_], list[tuple[float, float]]]:
    """Parallelogram footprint of a pushbroom swath crossing the north-up grid at a slant."""
    h, w = shape
    skew = float(rng.uniform(0.04, 0.08) * w)
    rows = np.arange(h, dtype=np.float32)[:, None] + 0.5
    cols = np.arange(w, dtype=np.float32)[None, :] + 0.5
    left = skew * (rows / h)  # the swath leans east going south (descending orbit)
    right = left + (w - skew)
    valid = (cols >= left) & (cols <= right)
    # Counterclockwise on the north-up map (RFC 7946 wants exterior rings counterclockwise):
    # down the west edge, east along the south edge, up the east edge.
    ring = [(0.0, 0.0), (skew, float(h)), (float(w), float(h)), (w - skew, 0.0), (0.0, 0.0)]
    return valid, ring


def _clouds(
    p: _Painter,
    rng: np.random.Generator,
    shape: tuple[int, int],
    fraction: float,
    valid: NDArray[np.bool_],
    brightness: Float,
) -> tuple[Float, Float]:
    """Clouds covering ~``fraction`` of the footprint, with soft edges and offset shadows.

    Returns:
        The cloud opacity and the shadow strength (where a shadow darkens the ground).
    """
    h, w = shape
    field = smooth_field(rng, shape, min(h, w) / 5.0 + 4, octaves=4)
    threshold = float(np.quantile(field[valid], 1.0 - min(fraction, 1.0)))
    opacity = np.clip((field - threshold) * 4.0 + 0.5, 0.0, 1.0).astype(np.float32)
    p.paint(opacity, {"cloud": 1.0})
    dy, dx = int(0.04 * h) + 1, int(0.03 * w) + 1
    shadow = np.zeros(shape, dtype=np.float32)
    shadow[dy:, dx:] = opacity[:-dy, :-dx]
    shadow *= 1.0 - opacity
    brightness *= 1.0 - 0.55 * shadow
    return opacity, shadow
