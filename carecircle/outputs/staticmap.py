"""Static PNG map of a study, for documents that cannot hold HTML (Word, PDF, slides).

Drawn with matplotlib's Agg renderer, offline (no background tiles), over the walking network drawn faintly:
communities coloured by the share of their elderly within the largest walking time on the interactive map's scale
(diverging at the target: reds below it, greens above; the target marked under the colour bar), named in the
map's language, dashed when below target; the walking-time bands of every threshold shaded darker towards the
facilities, the largest outlined; the elderly beyond it as red dots sized by their number; facilities coloured by
type (:data:`carecircle.outputs.maps.TYPE_COLORS`); suggested sites as numbered squares with their walking range,
the elderly they bring within it ringed. The figure takes the area's shape (at most 10 × 9 in) with the legend
beside or below the map, whichever leaves it larger, a scale bar, a north arrow, the study's note and the
OpenStreetMap attribution.

Chinese labels need a CJK font; :func:`cjk_font` looks in matplotlib's font list and, when that (a cache) has
none, once in the system's fonts (``fc-list :lang=zh``, the usual font folders), so a font installed after the
cache was built is used. Without one the map has English labels and a warning is logged once.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from carecircle.core.coverage import threshold_label
from carecircle.errors import InputError
from carecircle.formats import is_missing
from carecircle.io.default_data import DEFAULT_NOTE, DEFAULT_NOTE_ZH
from carecircle.io.facility_types import type_label
from carecircle.outputs.files import write_atomically
from carecircle.outputs.i18n import STATIC_MAP_LABELS, in_language, in_metres
from carecircle.outputs.mapdraw import (
    ATTRIBUTION,
    MAX_FIT_IN,
    draw_network,
    frame_texts,
    has_cjk,
    lines,
    place_key,
    polygons,
    scale_bar,
    view_bounds,
)
from carecircle.outputs.mapdraw import north_arrow as draw_north_arrow
from carecircle.outputs.maps import type_colors
from carecircle.outputs.maps.common import share_color

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # lazy: matplotlib is heavy and only the PNG needs it

    from carecircle.plan.results import StudyResult, Suggestion

logger = logging.getLogger(__name__)

__all__ = ["ATTRIBUTION", "cjk_font", "static_map_bytes", "static_map_figure", "static_map_png"]

#: Font families with CJK glyphs, in order of preference.
CJK_FONTS = (
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC",
    "Source Han Sans SC", "Source Han Sans CN", "Source Han Sans", "SimHei", "Microsoft YaHei", "PingFang SC",
    "Hiragino Sans GB", "STHeiti", "Heiti SC", "Droid Sans Fallback", "AR PL UMing CN", "Arial Unicode MS",
)
#: Font folders searched (besides ``fc-list :lang=zh``) when matplotlib's font list has no CJK font.
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts", "/Library/Fonts",
             "/System/Library/Fonts", "~/Library/Fonts", os.path.join(os.environ.get("WINDIR", "C:/Windows"), "Fonts"))
#: File names of CJK fonts in those folders.
_CJK_FILE = re.compile(r"wqy|wenquanyi|cjk|sourcehan|source-han|simhei|simsun|msyh|msjh|yahei|pingfang|hiragino|"
                       r"droidsansfallback|uming|ukai|heiti|notosanssc|notoserifsc|arphic|unicode", re.IGNORECASE)
_LATIN_FONT = "DejaVu Sans"

_NO_DATA_COLOR = "#bdbdbd"
_BELOW_TARGET_COLOR = "#67001f"
_ISO_COLOR = "#08519c"
# The nearest band's shade, the others': each over the next, the nearest darkest, yet light enough that the
# communities' coverage colours read through (as on the interactive map, maps.common.ISO_BAND_FILL_OPACITY).
_BAND_ALPHA = (0.06, 0.05)
_UNCOVERED_COLOR, _UNCOVERED_EDGE = "#e31a1c", "#67000d"
_SUGGESTED_FILL = "#1a1a1a"
_SUGGESTED_RING = "#ffb000"
_SITE_ISO_COLOR = "#e66101"
#: Legend labels wrap at this many characters (Chinese: fewer, each glyph being about twice as wide).
_WRAP_CHARS = {"en": 32, "zh": 15}
#: At most this many community names, the largest on the map first, each only where it fits.
_MAX_LABELS = 300
#: Labels of this map not in :data:`carecircle.outputs.i18n.STATIC_MAP_LABELS`.
#: Each ``{m}`` is a threshold (rewritten in metres with ``--distance``, :func:`carecircle.outputs.i18n.in_metres`);
#: a band's ``{lo}`` is the next shorter threshold.
LABELS: dict[str, dict[str, str]] = {
    "en": {"band_in": "Within {m} min walk", "band": "{lo}–{m} min walk", "band_top": "{lo}–{m} min walk (outline)",
           "uncovered": "Elderly beyond {m} min walk (dot: persons)", "uncovered_after": "Elderly still beyond {m} "
           "min walk (dot: persons)",
           "newly": "Elderly newly within {m} min (new sites)",
           "site_iso": "{m}-minute walk from the new sites", "at_target": "At or above the target ({target}+)",
           "subtitle": "With {n} suggested new sites: {before} → {after} of the elderly within {m} min walk"},
    "zh": {"band_in": "步行{m}分钟内", "band": "步行{lo}–{m}分钟", "band_top": "步行{lo}–{m}分钟（外框）",
           "uncovered": "步行{m}分钟外的老年人（点大小示人数）",
           "uncovered_after": "仍在步行{m}分钟外的老年人（点大小示人数）",
           "newly": "新增站点新覆盖的老年人", "site_iso": "新增站点步行{m}分钟内范围",
           "at_target": "达到目标（{target}及以上）",
           "subtitle": "新增{n}处建议站点：{m}分钟步行可达老年人比例 {before} → {after}"},
}

_warned_no_cjk = False
_rescanned = False
#: CJK fonts added to matplotlib's font list by the rescan: ``(family name, font file)``.
_added_cjk: list[tuple[str, str]] = []


def cjk_font() -> str | None:
    """Name of an installed font family with Chinese glyphs (first of :data:`CJK_FONTS` found), or ``None``."""
    found = _find_cjk_font()
    return found[0] if found else None


def _find_cjk_font() -> tuple[str, str] | None:
    """``(family name, font file)`` of the first CJK font in matplotlib's font list, or ``None``; when the list
    (matplotlib's cache) has none, the system's CJK fonts are added to it first, once per process."""
    global _rescanned
    found = _cjk_in_font_list()
    if found is None and not _rescanned:
        _rescanned = True
        _add_system_cjk_fonts()
        found = _cjk_in_font_list()
    return found


def _cjk_in_font_list() -> tuple[str, str] | None:
    from matplotlib import font_manager  # lazy: matplotlib is heavy and only the PNG needs it

    files = {f.name: f.fname for f in reversed(font_manager.fontManager.ttflist)}  # the first file of each name
    known = next(((name, files[name]) for name in CJK_FONTS if name in files), None)
    listed = {(f.name, f.fname) for f in font_manager.fontManager.ttflist}
    return known or next((added for added in _added_cjk if added in listed), None)


def _system_cjk_files() -> list[str]:
    """Font files with Chinese glyphs: those ``fc-list :lang=zh file`` lists, then CJK fonts (by file name) in
    :data:`FONT_DIRS`."""
    files: list[str] = []
    fc_list = shutil.which("fc-list")
    try:
        out = subprocess.run([fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=20,
                             check=False).stdout if fc_list else ""
    except (OSError, subprocess.SubprocessError):
        out = ""
    files += [line.strip().rstrip(":").strip() for line in out.splitlines() if line.strip()]
    for root in (Path(folder).expanduser() for folder in FONT_DIRS):
        files += sorted(str(p) for p in (root.rglob("*") if root.is_dir() else ())
                        if p.suffix.lower() in (".ttf", ".ttc", ".otf") and _CJK_FILE.search(p.name))
    return list(dict.fromkeys(files))


def _add_system_cjk_fonts() -> None:
    """Add the system's CJK fonts (:func:`_system_cjk_files`) to matplotlib's font list, for this process."""
    from matplotlib import font_manager  # lazy: matplotlib is heavy and only the PNG needs it

    manager = font_manager.fontManager
    listed = {f.fname for f in manager.ttflist}
    for path in _system_cjk_files():
        try:
            if path not in listed and os.path.isfile(path):
                manager.addfont(path)
        except (OSError, RuntimeError, ValueError) as exc:
            logger.debug("static map: cannot read the font %s: %s", path, exc)
        _added_cjk.extend((f.name, path) for f in manager.ttflist[::-1] if f.fname == path)
    if _added_cjk:
        logger.info("static map: fonts with Chinese characters found outside matplotlib's font cache: %s",
                    ", ".join(sorted({n for n, _f in _added_cjk})))


def map_language(lang: str) -> str:
    """The language a static map is drawn in: ``lang``, or English (with a warning, once) for Chinese when no
    CJK font is installed. An unknown language is an :class:`InputError`, with or without a CJK font."""
    in_language(STATIC_MAP_LABELS, lang)
    if lang == "zh" and _find_cjk_font() is None:
        _warn_no_cjk()
        return "en"
    return lang


def map_font(lang: str, *texts: str) -> Any:
    """The :class:`~matplotlib.font_manager.FontProperties` of a static map in ``lang`` (from
    :func:`map_language`) showing ``texts``: the CJK font's file in Chinese, else DejaVu Sans with the CJK font
    as fallback when a text holds Chinese (a name, a title)."""
    from matplotlib.font_manager import FontProperties  # lazy: matplotlib is heavy and only the PNG needs it

    cjk = _find_cjk_font()
    if lang == "zh" and cjk is not None:
        # The font file itself: the CJK fonts also hold Latin glyphs, and naming the file spares matplotlib's
        # weight matching (WenQuanYi has only a medium weight, and findfont warns about every other).
        return FontProperties(fname=cjk[1])
    if cjk is not None and has_cjk("".join(texts)):
        return FontProperties(family=[_LATIN_FONT, cjk[0]])  # Chinese in a name or title: CJK as fallback
    return FontProperties(family=_LATIN_FONT)


def wrap_label(text: str, lang: str) -> str:
    """A legend label wrapped for the legend's width (:data:`_WRAP_CHARS`)."""
    return _wrap(text, _WRAP_CHARS[lang])


def static_map_figure(
    study: StudyResult,
    *,
    lang: str = "en",
    suggestion: Suggestion | None = None,
    title: str | None = None,
    size_in: tuple[float, float] | None = None,
    north_arrow: bool = True,
) -> Figure:
    """The static map as a matplotlib :class:`~matplotlib.figure.Figure` (not attached to pyplot); parameters
    as for :func:`static_map_png`. Texts use a CJK font with ``lang="zh"`` (see :func:`cjk_font`), else DejaVu
    Sans (with a CJK font as fallback for Chinese names, when one is installed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: matplotlib is heavy and only the PNG needs it
    from matplotlib.colors import ListedColormap, Normalize, to_rgba
    from matplotlib.figure import Figure  # lazy: matplotlib is heavy and only the PNG needs it
    from matplotlib.lines import Line2D  # lazy: matplotlib is heavy and only the PNG needs it
    from matplotlib.patches import Patch  # lazy: matplotlib is heavy and only the PNG needs it

    lang = map_language(lang)
    cjk = _find_cjk_font()
    labels = {**in_language(STATIC_MAP_LABELS, lang), **LABELS[lang]}
    if (metres := getattr(study, "distances_m", None)) is not None:  # thresholds given as walking distances
        labels = in_metres(labels, {threshold_label(t): f"{d:g}" for t, d in
                                    zip(study.coverage.thresholds_min, metres, strict=True)})

    cov = suggestion.after if suggestion is not None else study.coverage
    crs = metric_crs(study, cov)
    thresholds = sorted({float(t) for t in cov.thresholds_min})
    top = threshold_label(max(thresholds))
    minutes = float(suggestion.minutes) if suggestion is not None else max(thresholds)
    communities = project(cov.communities, crs)
    names = community_names(communities, lang, cjk is not None)
    heading = title or f"{labels['title']} — {_display_name(getattr(study, 'name', ''))}".rstrip(" —")
    note = map_note(getattr(study, "note", None), lang)
    font = map_font(lang, heading, note or "", *names)

    facilities = project(cov.facilities, crs)
    if len(facilities) and "type" in facilities:
        facilities = facilities[facilities["type"].astype(str) != "suggested"]
    sites = project(suggestion.sites, crs) if suggestion is not None else None
    isochrones = getattr(study, "isochrones", None)
    # Every threshold the walking areas were drawn for (a suggestion's coverage has only its own threshold).
    drawn = pd.to_numeric(isochrones["minutes"], errors="coerce").dropna() if isochrones is not None and len(
        isochrones) and "minutes" in isochrones else pd.Series(dtype=float)
    band_minutes = sorted(set(thresholds) | {float(m) for m in drawn if m <= max(thresholds) + 1e-9})
    bands = [(m, shape) for m in band_minutes if (shape := merged_isochrone(isochrones, m, crs)) is not None]
    site_iso = merged_isochrone(suggestion.isochrones, minutes, crs) if suggestion is not None else None
    uncovered, newly = _uncovered(cov, suggestion, minutes, crs)
    if not len(communities) and not len(facilities):
        raise InputError("nothing to draw: the study has no communities and no facilities.")

    # At the PNG's usual dpi: text widths measured for the layout vary with the dpi (hinting).
    fig = Figure(figsize=size_in or MAX_FIT_IN, dpi=150, layout=None)
    FigureCanvasAgg(fig)  # a renderer, to measure the legend
    ax = fig.add_axes((0.02, 0.05, 0.70, 0.85), aspect="equal")
    ax.set_axis_off()
    # The interactive map's scale: diverging at the target (reds below it, greens above), sampled finely.
    target = None if is_missing(cov.target_share) else float(cov.target_share)
    cmap = ListedColormap([share_color(f, target) for f in np.linspace(0.0, 1.0, 512)], name="share")
    norm = Normalize(0.0, 1.0)
    x0, y0, x1, y1 = view_bounds([communities, facilities, sites, *(s for _m, s in bands[-1:])])
    ax.set(xlim=(x0, x1), ylim=(y0, y1))
    if (network := getattr(study, "network", None)) is not None:
        draw_network(ax, network, crs)

    handles: list[Any] = []
    if len(communities):
        share = pd.to_numeric(communities.get(f"share_{top}"), errors="coerce")
        # RGBA tuples throughout: a hex string among tuples makes matplotlib's colour array ragged.
        values = share.to_numpy(dtype=float)
        colors = np.array([to_rgba(_NO_DATA_COLOR if np.isnan(v) else share_color(v, target)) for v in values])
        ax.add_collection(polygons(communities.geometry.values, facecolors=colors, edgecolors="white",
                                    linewidths=0.8, alpha=0.62, zorder=1, gid="communities"), autolim=False)
        below = communities[communities.get("below_target", pd.Series(False, index=communities.index))
                            .fillna(False).astype(bool).to_numpy()]
        if len(below):
            ax.add_collection(lines(below.boundary.values, colors=_BELOW_TARGET_COLOR, linewidths=1.6,
                                     linestyles="--", zorder=3), autolim=False)
            handles.append(Line2D([], [], color=_BELOW_TARGET_COLOR, linestyle="--",
                                  label=labels["below"].format(target=f"{100 * cov.target_share:.0f}%")))
        if target is not None:
            handles.insert(0, Patch(facecolor=share_color(target, target), edgecolor="white", alpha=0.62,
                                    label=labels["at_target"].format(target=f"{100 * target:.0f}%")))
        if share.isna().any():
            handles.append(Patch(facecolor=_NO_DATA_COLOR, edgecolor="white", label=labels["no_data"]))
    handles += _draw_bands(ax, bands, labels)
    if site_iso is not None:
        ax.add_collection(lines(site_iso.boundary.values, one_path=True, facecolors="none",
                                 edgecolors=_SITE_ISO_COLOR, linewidths=1.4, linestyles="--", zorder=2.6,
                                 gid="site-isochrone"), autolim=False)
        handles.append(Line2D([], [], color=_SITE_ISO_COLOR, linewidth=1.4, linestyle="--",
                              label=labels["site_iso"].format(m=threshold_label(minutes))))
    handles += _draw_elderly(ax, uncovered, newly, cov, labels, threshold_label(minutes), suggestion is not None)
    handles += draw_facility_types(ax, facilities, lang)
    if sites is not None and len(sites):
        ranks = pd.to_numeric(sites["rank"], errors="coerce") if "rank" in sites else pd.Series(
            np.arange(1, len(sites) + 1), index=sites.index)
        pts = sites.geometry.representative_point()
        ax.scatter(pts.x, pts.y, s=170, marker="s", color=_SUGGESTED_FILL, edgecolors=_SUGGESTED_RING,
                   linewidths=1.8, zorder=6)
        for p, r in zip(pts, ranks, strict=True):
            ax.text(p.x, p.y, "?" if pd.isna(r) else f"{r:g}", color="white", fontsize=7.5, fontweight="bold",
                    ha="center", va="center", zorder=7, fontproperties=font)
        handles.append(Line2D([], [], marker="s", linestyle="", markersize=9, markerfacecolor=_SUGGESTED_FILL,
                              markeredgecolor=_SUGGESTED_RING, label=labels["suggested"]))
    for h in handles:
        h.set_label(wrap_label(h.get_label(), lang))

    subtitle = None
    if suggestion is not None:
        lab = threshold_label(minutes)
        before, after = (s.summary.get("share", {}).get(lab) for s in (suggestion.before, suggestion.after))
        if before is not None and after is not None:
            before, after = percents(before, after)
            subtitle = labels["subtitle"].format(n=len(suggestion.sites), m=lab, before=before, after=after)
    texts = frame_texts(fig, heading, subtitle, note, font)
    place_key(fig, ax, handles, lambda cax: _colorbar(fig, cax, cmap, norm, labels["share"].format(m=top), font,
                                                      target), font, texts, fit=size_in is None)
    scale_bar(ax, font)
    if north_arrow:
        draw_north_arrow(ax, font)
    label_communities(fig, ax, communities, names, font, avoid=np.vstack(
        [np.column_stack([g.x, g.y]) for g in (facilities.geometry, sites.geometry.representative_point()
                                               if sites is not None else None) if g is not None and len(g)]
        or [np.empty((0, 2))]))
    # Dots shrink together until they cover at most a tenth of the map (pt²): a city's thousands must not hide it.
    area = 0.1 * float(np.prod(ax.get_position().size * fig.get_size_inches())) * 72**2
    dots = [c for c in ax.collections if c.get_gid() in ("uncovered", "newly-covered")]
    if (total := sum(float(np.sum(c.get_sizes())) for c in dots)) > area:
        for c in dots:
            c.set_sizes(np.maximum(c.get_sizes() * area / total, 1.0))
    return fig


def static_map_png(
    study: StudyResult,
    path: str | os.PathLike[str],
    *,
    lang: str = "en",
    suggestion: Suggestion | None = None,
    dpi: int = 150,
    title: str | None = None,
    size_in: tuple[float, float] | None = None,
    north_arrow: bool = True,
) -> Path:
    """Write a static PNG map of a study (``size_in`` × ``dpi`` pixels), atomically.

    ``study`` is the output of :func:`carecircle.run_study`; ``path`` the target ``.png`` (its directory must
    exist); ``lang`` ``"en"`` or ``"zh"`` (Chinese needs a CJK font, else English labels and a warning, once).
    ``suggestion`` draws the coverage with the suggested sites (numbered by rank, their walking range outlined):
    the elderly still beyond reach and those the sites bring within it. ``title`` defaults to "15-minute
    elder-care circle — <Study name>" in ``lang``; ``size_in`` (width, height, inches) to the shape of the area
    with its legend, at most 10 × 9 in (1500 × 1350 pixels at the default ``dpi``); ``north_arrow`` points to
    grid north of the study's UTM zone.

    Returns the path written; raises :class:`InputError` (unknown ``lang``, nothing to draw) or
    :class:`OutputError` (the directory does not exist or cannot be written).

    >>> static_map_png(carecircle.run_study(), "map.png", lang="zh")  # doctest: +SKIP
    """
    data = static_map_bytes(study, lang=lang, suggestion=suggestion, dpi=dpi, title=title, size_in=size_in,
                            north_arrow=north_arrow)
    return write_atomically(path, lambda f: f.write(data), what="the PNG map")


def static_map_bytes(
    study: StudyResult,
    *,
    lang: str = "en",
    suggestion: Suggestion | None = None,
    dpi: int = 150,
    title: str | None = None,
    size_in: tuple[float, float] | None = None,
    north_arrow: bool = True,
) -> bytes:
    """The static map as PNG bytes (parameters as for :func:`static_map_png`), e.g. to embed in the report."""
    fig = static_map_figure(study, lang=lang, suggestion=suggestion, title=title, size_in=size_in,
                            north_arrow=north_arrow)  # on an Agg canvas
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


# --- helpers ------------------------------------------------------------------------------------------


def _warn_no_cjk() -> None:
    global _warned_no_cjk
    if not _warned_no_cjk:
        logger.warning("static map: no font with Chinese characters is installed (looked in matplotlib's font "
                       "list and the system's fonts; e.g. apt-get install fonts-wqy-zenhei, or Noto Sans CJK); "
                       "drawing the PNG map with English labels.")
        _warned_no_cjk = True


def draw_facility_types(ax: Any, facilities: gpd.GeoDataFrame, lang: str) -> list:
    """The facilities as dots coloured by type (the interactive map's colours), and a legend entry per type."""
    from matplotlib.lines import Line2D  # lazy: matplotlib is heavy and only the PNG needs it

    if not len(facilities):
        return []
    types = facilities["type"].astype(str) if "type" in facilities else pd.Series("unspecified",
                                                                                index=facilities.index)
    handles = []
    for code, color in type_colors(types).items():
        rows = facilities[(types == code).to_numpy()]
        ax.scatter(rows.geometry.x, rows.geometry.y, s=52, color=color, edgecolors="white", linewidths=1.4, zorder=5)
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=7.5, markerfacecolor=color,
                              markeredgecolor="white", label=type_name(code, lang)))
    return handles


def type_name(code: str, lang: str) -> str:
    try:
        return type_label(code, lang)
    except (KeyError, InputError):
        return code


def metric_crs(study: Any, cov: Any) -> Any:
    network = getattr(study, "network", None)
    crs = getattr(network, "crs", None)
    if crs:
        return crs
    frames = [f for f in (cov.communities, cov.facilities) if f is not None and len(f)]
    return frames[0].estimate_utm_crs() if frames else "EPSG:3857"


def project(gdf: gpd.GeoDataFrame | None, crs: Any) -> gpd.GeoDataFrame:
    if gdf is None or len(gdf) == 0:
        return gpd.GeoDataFrame(geometry=[], crs=crs)
    if gdf.crs is None:
        raise InputError("a layer to draw has no CRS; set it (e.g. gdf.set_crs('EPSG:4326')).")
    out = gdf.to_crs(crs)
    return out[~(out.geometry.isna() | out.geometry.is_empty)]


def merged_isochrone(iso: gpd.GeoDataFrame | None, minutes: float, crs: Any) -> gpd.GeoSeries | None:
    """The merged isochrone of ``minutes`` (or the union of the per-facility ones), projected."""
    if iso is None or len(iso) == 0 or "minutes" not in iso.columns:
        return None
    rows = iso[np.isclose(pd.to_numeric(iso["minutes"], errors="coerce"), minutes)]
    if "facility_id" in rows.columns and rows["facility_id"].isna().any():
        rows = rows[rows["facility_id"].isna().to_numpy()]
    rows = rows[~(rows.geometry.isna() | rows.geometry.is_empty).to_numpy()]
    if rows.empty:
        return None
    shapes = rows.to_crs(crs).geometry
    # One merged polygon is drawn as it is: uniting it with nothing would only re-node it (1 s at 100k nodes).
    return gpd.GeoSeries([shapes.iloc[0] if len(shapes) == 1 else shapes.union_all()], crs=crs)


def _display_name(name: Any) -> str:
    """A study id as a title: ``helsinki`` → ``Helsinki``, ``shenyang_heping`` → ``Shenyang Heping``; names in
    mixed case or Chinese stay as they are."""
    text = str(name or "").strip()
    return text.replace("_", " ").title() if text.islower() else text


def map_note(note: str | None, lang: str) -> str | None:
    """The study's note in ``lang`` (the demo's note has both languages; other notes are the user's)."""
    return ({DEFAULT_NOTE: DEFAULT_NOTE_ZH} if lang == "zh" else {DEFAULT_NOTE_ZH: DEFAULT_NOTE}).get(note, note) \
        or None


def percents(*shares: float) -> list[str]:
    """Shares in percent, with the fewest decimals (1 to 3) that show none as 100% or 0% when it is not."""
    return [next((f"{100 * s:.{d}f}%" for d in (1, 2) if s in (0, 1) or 0 < round(100 * s, d) < 100),
                 f"{100 * s:.3f}%") for s in shares]


def community_names(communities: gpd.GeoDataFrame, lang: str, cjk_installed: bool) -> list[str]:
    """Each community's name in ``lang``: ``name`` (zh), ``name_en`` when given else ``name`` (en); the id
    where the name is missing, or is Chinese and no CJK font is installed."""
    n = len(communities)
    columns = [communities[c] if c in communities else pd.Series([None] * n)
               for c in (["name_en", "name"] if lang == "en" else ["name"])]
    ids = communities["community_id"] if "community_id" in communities else pd.Series([""] * n)
    out = []
    for values in zip(*columns, ids, strict=True):
        name = next((v.strip() for v in values[:-1] if isinstance(v, str) and v.strip()), None)
        out.append(str(values[-1]) if name is None or (not cjk_installed and has_cjk(name)) else name)
    return out


def _uncovered(cov: Any, suggestion: Any, minutes: float, crs: Any) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Projected demand points with elderly beyond ``minutes`` (after the suggested sites, with a suggestion)
    and, with a suggestion, those the sites bring within ``minutes``."""
    def beyond(demand: gpd.GeoDataFrame | None) -> np.ndarray:
        if demand is None or not len(demand) or ("time_min" not in demand and f"covered_{lab}" not in demand):
            return np.zeros(0 if demand is None else len(demand), dtype=bool)
        out = ~(demand[f"covered_{lab}"].fillna(False).astype(bool).to_numpy() if f"covered_{lab}" in demand
                else pd.to_numeric(demand["time_min"], errors="coerce").to_numpy() <= minutes + 1e-9)
        pop = pd.to_numeric(demand.get("population", pd.Series(1.0, index=demand.index)), errors="coerce")
        return out & (pop.fillna(0).to_numpy() > 0)

    lab = threshold_label(minutes)
    now = beyond(cov.demand)
    then = beyond(suggestion.before.demand) if suggestion is not None else np.zeros(0, dtype=bool)
    newly = cov.demand[then & ~now] if len(then) == len(now) and then.any() else None
    return project(cov.demand[now] if now.any() else None, crs), project(newly, crs)


def _draw_bands(ax: Any, bands: list[tuple[float, gpd.GeoSeries]], labels: dict[str, str]) -> list[Any]:
    """The walking-time bands, each threshold's area shaded over the next larger one (the nearest darkest), the
    largest outlined; legend handles nearest first."""
    from matplotlib.colors import to_rgba  # lazy: matplotlib is heavy and only the PNG needs it
    from matplotlib.patches import Patch  # lazy: matplotlib is heavy and only the PNG needs it

    handles = []
    alphas = [_BAND_ALPHA[0 if i == 0 else 1] for i in range(len(bands))]
    for i, (minutes, shape) in enumerate(bands):
        b, last = threshold_label(minutes), i == len(bands) - 1
        ax.add_collection(polygons(shape.values, facecolors=to_rgba(_ISO_COLOR, alphas[i]), edgecolors="none",
                                    linewidths=0, zorder=2, gid=f"band-{b}"), autolim=False)
        fill = to_rgba(_ISO_COLOR, 1 - float(np.prod([1 - a for a in alphas[i:]])))  # the shades over the band
        template = labels["band_in" if i == 0 else "band_top" if last else "band"]
        lo = threshold_label(bands[i - 1][0]) if i else ""
        text = template.format(lo=getattr(template, "metres", {}).get(lo, lo), m=b)
        handles.append(Patch(facecolor=fill, edgecolor=_ISO_COLOR if last else "none", linewidth=1.2, label=text))
    for _minutes, shape in bands[:-1]:  # the nearer bands' edges, thin
        ax.add_collection(lines(shape.boundary.values, one_path=True, facecolors="none", edgecolors=_ISO_COLOR,
                                linewidths=0.6, alpha=0.7, zorder=2.4, gid="band-edge"), autolim=False)
    if bands:
        ax.add_collection(lines(bands[-1][1].boundary.values, one_path=True, facecolors="none",
                                 edgecolors=_ISO_COLOR, linewidths=1.2, zorder=2.5, gid="isochrone"), autolim=False)
    return handles


def _draw_elderly(ax: Any, uncovered: gpd.GeoDataFrame, newly: gpd.GeoDataFrame, cov: Any, labels: dict[str, str],
                  lab: str, after_sites: bool) -> list[Any]:
    """Red dots for the elderly beyond reach and rings for those the new sites bring within it, their areas
    proportional to the persons (the largest demand point: 80 pt², at least 10 pt²); legend handles."""
    from matplotlib.lines import Line2D  # lazy: matplotlib is heavy and only the PNG needs it

    def persons(points: gpd.GeoDataFrame | None) -> np.ndarray:
        if points is None or "population" not in points:
            return np.ones(0 if points is None else len(points))
        return pd.to_numeric(points["population"], errors="coerce").fillna(0).to_numpy()

    biggest = max(float(np.max(persons(cov.demand), initial=0.0)), 1e-9)
    handles = []
    for points, kind in ((newly, "newly"), (uncovered, "uncovered_after" if after_sites else "uncovered")):
        if not len(points):
            continue
        ring = kind == "newly"
        size = np.clip(80 * persons(points) / biggest, 10, 80) + 12 * ring
        ax.scatter(points.geometry.x, points.geometry.y, s=size,
                   facecolors="white" if ring else _UNCOVERED_COLOR, alpha=None if ring else 0.9,
                   edgecolors=_SITE_ISO_COLOR if ring else _UNCOVERED_EDGE, linewidths=1.5 if ring else 0.4,
                   zorder=4 if ring else 4.5, gid="newly-covered" if ring else "uncovered")
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=6 if ring else 5,
                              markerfacecolor="white" if ring else _UNCOVERED_COLOR,
                              markeredgecolor=_SITE_ISO_COLOR if ring else _UNCOVERED_EDGE,
                              markeredgewidth=1.5 if ring else 1.0, label=labels[kind].format(m=lab)))
    return handles


def label_communities(fig: Any, ax: Any, communities: gpd.GeoDataFrame, names: list[str], font: Any, *,
                      avoid: Any = None) -> None:
    """Community names at a point inside each, the largest on the map first, only where the name fits inside
    the community's box on the map, clear of the names already placed and of the markers at ``avoid`` (x, y in
    the map's CRS): a name a marker would cover moves up or down inside its community, else is left out."""
    import matplotlib.patheffects as pe  # lazy: matplotlib is heavy and only the PNG needs it

    box, (w_in, h_in) = ax.get_position(), fig.get_size_inches()
    per_m = min(box.width * w_in / np.diff(ax.get_xlim())[0], box.height * h_in / np.diff(ax.get_ylim())[0])
    bounds = communities.geometry.bounds.to_numpy() * per_m  # inches on the map (equal aspect)
    size_w, size_h = bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]
    pts, fontsize = communities.geometry.representative_point(), 7.5
    marks = np.empty((0, 2)) if avoid is None else np.asarray(avoid, dtype=float).reshape(-1, 2)
    reach = 0.09 / per_m  # a marker's radius and a little air, in metres
    placed: list[tuple[float, float, float, float]] = []

    def clear(rect: tuple[float, float, float, float]) -> bool:
        near = (marks[:, 0] > rect[0] - reach) & (marks[:, 0] < rect[2] + reach) & (
            marks[:, 1] > rect[1] - reach) & (marks[:, 1] < rect[3] + reach)
        return not near.any() and not any(r[0] < rect[2] and rect[0] < r[2] and r[1] < rect[3] and rect[1] < r[3]
                                          for r in placed)

    for i in np.argsort(-(size_w * size_h))[:_MAX_LABELS]:
        text = names[i]
        width = sum(1.0 if has_cjk(c) else 0.6 for c in text) * fontsize / 72  # inches, estimated
        if width > 0.95 * size_w[i] or 1.6 * fontsize / 72 > size_h[i]:
            continue
        shape = communities.geometry.iloc[i]
        for dy in (0.0, -0.2, 0.2, -0.35, 0.35):  # inches: the point inside first, then below or above it
            x, y = pts.iloc[i].x, pts.iloc[i].y + dy / per_m
            rect = (x - width / 2 / per_m, y - fontsize / 90 / per_m, x + width / 2 / per_m,
                    y + fontsize / 90 / per_m)
            if clear(rect) and (dy == 0 or shape.contains(shapely.points(x, y))):
                break
        else:
            continue
        placed.append(rect)
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color="#1a1a1a", zorder=4.8,
                fontproperties=font, gid="community-label", clip_on=True,
                path_effects=[pe.withStroke(linewidth=2.4, foreground="white", alpha=0.85)])


def _wrap(text: str, width: int) -> str:
    """``text`` wrapped at ``width`` characters: at spaces, or anywhere in text without spaces (Chinese)."""
    if len(text) <= width:
        return text
    if " " in text.strip():
        return textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)
    return textwrap.fill(text, width)


def _colorbar(fig: Any, cax: Any, cmap: Any, norm: Any, label: str, font: Any, target: float | None) -> None:
    """The share scale as the interactive map's legend draws it: 0–100% in quarters, the target marked under the
    bar (▲ 90%) where the colours break from yellow to green."""
    from matplotlib.cm import ScalarMappable  # lazy: matplotlib is heavy and only the PNG needs it

    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal")
    bar.set_ticks([0, 0.25, 0.5, 0.75, 1.0], labels=["0%", "25%", "50%", "75%", "100%"])
    bar.ax.tick_params(labelsize=8)
    if target is not None:  # a second row of tick labels: never on top of "75%" or "100%"
        cax.set_xticks([target], labels=[f"\n▲ {100 * target:.0f}%"], minor=True)
        cax.tick_params(axis="x", which="minor", length=0, labelsize=8, labelcolor=_BELOW_TARGET_COLOR)
        cax.axvline(target, color="white", linewidth=1.0)
    cax.set_title(label, fontproperties=font, fontsize=9.5, loc="left")
