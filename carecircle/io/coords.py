"""Chinese map coordinates: GCJ-02 (Amap, Tencent) and BD-09 (Baidu) to and from WGS-84.

Facility lists exported from Chinese web maps are not in WGS-84. Amap (高德) and Tencent (腾讯) use GCJ-02
("火星坐标"), an obfuscated datum that moves points by a few hundred metres; Baidu (百度) uses BD-09, a second
shift on top of GCJ-02. Taken as WGS-84 they land 300–700 m from where they are on the OpenStreetMap network.

The forward GCJ-02 shift comes from ``pybind11_coordtransform`` (the C++ build of the public coordtransform
algorithm, vectorised over numpy arrays). Its GCJ-02 → WGS-84 inverse is the usual one-step approximation
(1–2 m off), so :func:`to_wgs84` refines it by fixed-point iteration on the library's forward transform until
the round trip closes to 1e-9° (0.1 mm). The library has BD-09 only point by point, so the two BD-09 formulas
(a small rotation and offset of GCJ-02) are written here in numpy; the tests check them against the library.

GCJ-02 and BD-09 are defined only for China: every conversion refuses points outside :data:`CHINA_BBOX`, the
box the library itself uses (``out_of_china``). It is deliberately generous (it also covers Mongolia, Korea,
parts of Japan and South-East Asia): it catches coordinates that are clearly not Chinese – swapped lon/lat,
zeros, projected metres, a city abroad – not points just across a border.

:func:`gcj_offset_suspected` detects the opposite mistake: GCJ-02 coordinates declared as WGS-84.

>>> lon, lat = to_wgs84([116.41024449916938], [39.91640428150164], "gcj02")
>>> round(float(lon[0]), 6), round(float(lat[0]), 6)
(116.404, 39.915)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pybind11_coordtransform as _ct
import pyproj

from carecircle.errors import InputError

log = logging.getLogger(__name__)

#: The coordinate systems :func:`to_wgs84` and :func:`from_wgs84` convert, as :func:`normalise_crs` names them.
COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")

#: (lon_min, lat_min, lon_max, lat_max), degrees: where GCJ-02 and BD-09 coordinates are accepted. The same
#: box as the library's ``out_of_china`` test (and the coordtransform family of libraries); bounds exclusive.
CHINA_BBOX = (73.66, 3.86, 135.05, 53.55)

_ALIASES = {
    "wgs84": "wgs84", "wgs1984": "wgs84", "epsg:4326": "wgs84", "gps": "wgs84",
    "gcj02": "gcj02", "gcj": "gcj02", "amap": "gcj02", "gaode": "gcj02", "tencent": "gcj02",
    "高德": "gcj02", "腾讯": "gcj02", "火星": "gcj02", "火星坐标": "gcj02",
    "bd09": "bd09", "bd09ll": "bd09", "baidu": "bd09", "百度": "bd09",
}
_ACCEPTED = "wgs84, gcj02, bd09 or an EPSG code such as EPSG:4326"
_X_PI = np.pi * 3000.0 / 180.0  # BD-09's rotation constant, as in every coordtransform port
_TOL_DEG = 1e-9  # fixed-point iterations stop when the round trip closes to this (about 0.1 mm)
_MAX_ITER = 10


def normalise_crs(value: str | int | pyproj.CRS) -> str:
    """Canonical name of a coordinate system given by a user.

    Parameters
    ----------
    value : a name such as ``"wgs84"``, ``"WGS-84"``, ``"EPSG:4326"``, ``"gcj02"``, ``"GCJ-02"``, ``"bd09"``,
        ``"BD-09"`` (case, ``-``, ``_`` and spaces ignored; also ``amap``/``tencent``/``高德``/``腾讯`` for
        GCJ-02 and ``baidu``/``百度`` for BD-09), or anything else pyproj understands.

    Returns
    -------
    str
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"`` for those systems (also for any pyproj CRS equal to EPSG:4326,
        such as ``"OGC:CRS84"``); any other CRS pyproj understands comes back unchanged (``"EPSG:4490"``,
        ``"EPSG:32650"``; a :class:`pyproj.CRS` or an EPSG number as its ``to_string()``), for the caller to
        reproject with pyproj.

    Raises
    ------
    InputError
        The value is neither of these, e.g. ``"crs 'gcj-2' is not one of wgs84, gcj02, bd09 or an EPSG code
        such as EPSG:4326"``.

    Examples
    --------
    >>> normalise_crs("GCJ-02"), normalise_crs("EPSG:4326"), normalise_crs("EPSG:4490")
    ('gcj02', 'wgs84', 'EPSG:4490')
    """
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str):
        key = text.lower().replace("-", "").replace("_", "").replace(" ", "")
        if key in _ALIASES:
            return _ALIASES[key]
    try:
        crs = pyproj.CRS.from_user_input(text)
    except (pyproj.exceptions.CRSError, TypeError, ValueError):
        raise InputError(f"crs {value!r} is not one of {_ACCEPTED}") from None
    if crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        return "wgs84"
    return text if isinstance(text, str) else crs.to_string()


def in_china(lon, lat) -> np.ndarray:
    """Whether each point lies inside :data:`CHINA_BBOX` (False for NaN). Array-like in, bool array out."""
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    x0, y0, x1, y1 = CHINA_BBOX
    return (lon > x0) & (lon < x1) & (lat > y0) & (lat < y1)


def to_wgs84(
    lon, lat, system: str, *, rows: Sequence | None = None, source: str = "points"
) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 or BD-09 coordinates to WGS-84 (degrees), vectorised.

    The GCJ-02 inverse is iterated on the forward transform until it closes to 1e-9° (about 0.1 mm), so
    ``from_wgs84(*to_wgs84(lon, lat, s), s)`` returns the input to well under a millimetre in China.

    Parameters
    ----------
    lon, lat : array-like of degrees, any (broadcastable) shape. NaN stays NaN.
    system : the system the coordinates are in: ``"wgs84"`` (returned as a copy), ``"gcj02"`` or ``"bd09"``,
        or any spelling :func:`normalise_crs` accepts for them.
    rows : labels naming the points in the error message (e.g. spreadsheet row numbers); default 1, 2, 3, ...
    source : what the points are, for the message (e.g. ``"facilities.csv"``).

    Returns
    -------
    (lon, lat) : float64 arrays of the broadcast shape, WGS-84 degrees.

    Raises
    ------
    InputError
        ``system`` is not one of :data:`COORD_SYSTEMS`, or a GCJ-02/BD-09 point lies outside China
        (:data:`CHINA_BBOX`); the message counts them and shows the first few.

    Examples
    --------
    >>> lon, lat = to_wgs84([116.41036949371029], [39.92133699351021], "BD-09")   # Baidu → WGS-84
    >>> lon.round(4).tolist(), lat.round(4).tolist()
    ([116.3978], [39.9136])
    """
    system = _system(system)
    lon, lat = _arrays(lon, lat)
    if system == "wgs84":
        return lon.copy(), lat.copy()
    _check_china(lon, lat, system, rows=rows, source=source)
    shape = lon.shape
    x, y = lon.ravel(), lat.ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    out_x, out_y = np.full(x.shape, np.nan), np.full(y.shape, np.nan)
    gx, gy = x[ok], y[ok]
    if system == "bd09":
        gx, gy = _bd09_to_gcj02(gx, gy)
    out_x[ok], out_y[ok] = _gcj02_to_wgs84(gx, gy)
    return out_x.reshape(shape), out_y.reshape(shape)


def from_wgs84(
    lon, lat, system: str, *, rows: Sequence | None = None, source: str = "points"
) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS-84 coordinates to GCJ-02 or BD-09 (degrees), vectorised; the inverse of :func:`to_wgs84`.

    For exporting results to Amap/Tencent (``"gcj02"``) or Baidu (``"bd09"``) maps, and for tests. Parameters,
    return values and errors as in :func:`to_wgs84`.

    Examples
    --------
    >>> lon, lat = from_wgs84(116.404, 39.915, "gcj02")
    >>> float(lon), float(lat)
    (116.41024449916938, 39.91640428150164)
    """
    system = _system(system)
    lon, lat = _arrays(lon, lat)
    if system == "wgs84":
        return lon.copy(), lat.copy()
    _check_china(lon, lat, system, rows=rows, source=source)
    shape = lon.shape
    x, y = lon.ravel(), lat.ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    out_x, out_y = np.full(x.shape, np.nan), np.full(y.shape, np.nan)
    gx, gy = _wgs84_to_gcj02(x[ok], y[ok])
    if system == "bd09":
        gx, gy = _gcj02_to_bd09(gx, gy)
    out_x[ok], out_y[ok] = gx, gy
    return out_x.reshape(shape), out_y.reshape(shape)


@dataclass(frozen=True)
class OffsetCheck:
    """Result of :func:`gcj_offset_suspected`.

    Attributes
    ----------
    suspected : whether the points look like GCJ-02 coordinates declared as WGS-84.
    median_as_given_m : median distance to the network of the points as given, metres (NaN if none checked).
    median_corrected_m : the same after the GCJ-02 → WGS-84 correction, metres (NaN if none checked).
    n_points : how many points were checked (finite coordinates inside China).
    """

    suspected: bool
    median_as_given_m: float
    median_corrected_m: float
    n_points: int

    def message(self, source: str = "points") -> str:
        """One-line warning for a suspected offset (empty string when not suspected)."""
        if not self.suspected:
            return ""
        return (
            f"{source}: the {self.n_points} points in China lie a median {self.median_as_given_m:.0f} m from the "
            f"walking network as given but {self.median_corrected_m:.0f} m after a GCJ-02 correction; they look "
            "like Amap/Tencent (GCJ-02) coordinates: if so, use --crs gcj02 (or --crs bd09 for Baidu)."
        )


def gcj_offset_suspected(
    lon,
    lat,
    distance_to_network: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    min_drop_share: float = 0.4,
    min_drop_m: float = 30.0,
    min_points: int = 3,
) -> OffsetCheck:
    """Whether points declared as WGS-84 look shifted the way GCJ-02 coordinates are.

    Rule: take the points with finite coordinates inside :data:`CHINA_BBOX`; compute the median distance to the
    walking network of the points as given (``m_given``) and of the same points treated as GCJ-02 and converted
    to WGS-84 (``m_corrected``). Suspected when there are at least ``min_points`` such points, and the correction
    brings them clearly closer: ``m_corrected <= (1 - min_drop_share) * m_given`` and
    ``m_given - m_corrected >= min_drop_m``. Points really in WGS-84 sit near the network already and the
    correction moves them 100–700 m away, so they are not suspected. The test can stay silent where streets are
    dense: on a synthetic grid with 100–300 m blocks, shifted points fall within 10–30 m of some other street and
    the median may not drop by ``min_drop_m``. It is a warning, not a proof: the caller decides what to tell the
    user (:meth:`OffsetCheck.message`).

    Parameters
    ----------
    lon, lat : array-like of WGS-84 degrees, as the user declared them.
    distance_to_network : ``f(lon, lat) -> metres`` for arrays of WGS-84 degrees; owned by the caller, e.g.
        ``lambda lon, lat: snap_points(net, np.column_stack(net.from_wgs84.transform(lon, lat))).offset_m``.
        Called twice, each time with all checked points.
    min_drop_share : the share by which the median must fall (0.4: to 60% or less of the median as given).
    min_drop_m : the metres by which the median must fall.
    min_points : fewest points in China for a verdict; with fewer, never suspected.

    Returns
    -------
    OffsetCheck

    Examples
    --------
    >>> def dist(lon, lat):   # a single north-south street at the GCJ-02 → WGS-84 corrected longitude
    ...     return np.abs(np.asarray(lon) - 116.404) * 85_000
    >>> glon, glat = from_wgs84(np.full(5, 116.404), np.linspace(39.90, 39.92, 5), "gcj02")
    >>> gcj_offset_suspected(glon, glat, dist).suspected
    True
    """
    lon, lat = _arrays(lon, lat)
    lon, lat = lon.ravel(), lat.ravel()
    keep = np.isfinite(lon) & np.isfinite(lat) & in_china(lon, lat)
    n = int(keep.sum())
    if n == 0:
        return OffsetCheck(False, float("nan"), float("nan"), 0)
    x, y = lon[keep], lat[keep]
    given = _median_m(distance_to_network(x, y), n)
    cx, cy = _gcj02_to_wgs84(x, y)
    corrected = _median_m(distance_to_network(cx, cy), n)
    suspected = bool(
        n >= min_points
        and corrected <= (1.0 - min_drop_share) * given
        and given - corrected >= min_drop_m
    )
    if suspected:
        log.info("GCJ-02 offset suspected: median distance to network %.0f m as given, %.0f m corrected",
                 given, corrected)
    return OffsetCheck(suspected, given, corrected, n)


# ---------------------------------------------------------------------------------------------------------------


def _system(system: str) -> str:
    name = normalise_crs(system)
    if name not in COORD_SYSTEMS:
        raise InputError(f"coordinate system {system!r} cannot be converted here; use one of "
                         f"{', '.join(COORD_SYSTEMS)} (reproject other CRSs with pyproj)")
    return name


def _arrays(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return lon, lat


def _check_china(lon: np.ndarray, lat: np.ndarray, system: str, *, rows, source: str) -> None:
    x, y = lon.ravel(), lat.ravel()
    bad = np.flatnonzero(np.isfinite(x) & np.isfinite(y) & ~in_china(x, y))
    if not len(bad):
        return
    labels = np.arange(1, len(x) + 1) if rows is None else np.asarray(rows).ravel()
    shown = ", ".join(f"{labels[i]} ({x[i]:.6g}, {y[i]:.6g})" for i in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    name = {"gcj02": "GCJ-02", "bd09": "BD-09"}[system]
    raise InputError(
        f"{source}: {len(bad)} of {len(x)} points lie outside China (rows {shown}{more}; lon, lat); {name} is only "
        "defined for mainland China: check for swapped lon/lat, or if these are WGS-84 coordinates use --crs wgs84."
    )


def _median_m(d, n: int) -> float:
    d = np.asarray(d, dtype=np.float64).ravel()
    if d.shape != (n,):
        raise ValueError(f"distance_to_network returned {d.shape[0]} distances for {n} points")
    return float(np.nanmedian(d)) if np.isfinite(d).any() else float("nan")


def _wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward GCJ-02 shift from the library; callers have checked the points are in China."""
    if not len(lon):
        return lon.copy(), lat.copy()
    # check_out_of_china=False: the library's check looks only at the first point and then skips all of them.
    out = _ct.wgs84_to_gcj02_Nx2(np.column_stack([lon, lat]), check_out_of_china=False)
    return out[:, 0], out[:, 1]


def _gcj02_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact inverse of :func:`_wgs84_to_gcj02`: the library's one-step guess, then fixed-point iterations."""
    if not len(lon):
        return lon.copy(), lat.copy()
    out = _ct.gcj02_to_wgs84_Nx2(np.column_stack([lon, lat]), check_out_of_china=False)
    return _refine(_wgs84_to_gcj02, lon, lat, out[:, 0], out[:, 1])


def _gcj02_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 forward: the library's ``gcj02tobd09``, vectorised."""
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact inverse of :func:`_gcj02_to_bd09`: the library's ``bd09togcj02`` formula, then refined."""
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _refine(_gcj02_to_bd09, lon, lat, z * np.cos(theta), z * np.sin(theta))


def _refine(forward, tx: np.ndarray, ty: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x, y) == (tx, ty)`` from the guess (x, y) by fixed-point iteration.

    The shifts vary slowly (their gradient is about 1e-5), so each step shrinks the error by that factor:
    a step or two reaches :data:`_TOL_DEG`.
    """
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - tx, fy - ty
        if not len(ex) or max(np.abs(ex).max(), np.abs(ey).max()) < _TOL_DEG:
            break
        x, y = x - ex, y - ey
    return x, y
