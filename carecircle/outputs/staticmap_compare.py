"""Static PNG map of a baseline-versus-plan comparison (``map.png`` of ``carecircle compare``), for documents that
cannot hold HTML.

It shows what the interactive comparison map (:func:`carecircle.outputs.maps.comparison_map`) shows, in the same
colours: communities coloured by the change in the share of their elderly within one walking time (red down,
green up, in percentage points), the base's walking area at that time dashed grey and the plan's blue, the
elderly the plan newly covers (green dots) and those it no longer covers (red), the plan's other facilities by
type and those added (+), removed (×) or changed (~). The walking time is the largest at which coverage changes
(with a 15-minute circle nearly complete, the change is often at 5 or 10 minutes). The frame, fonts and layout
are the coverage map's (:mod:`carecircle.outputs.staticmap`, :mod:`carecircle.outputs.mapdraw`).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from carecircle.core.coverage import threshold_label
from carecircle.errors import InputError
from carecircle.outputs.i18n import COMPARISON_MAP_LABELS, in_language, in_metres
from carecircle.outputs.mapdraw import (
    MAX_FIT_IN,
    draw_network,
    frame_texts,
    lines,
    north_arrow,
    place_key,
    polygons,
    scale_bar,
    view_bounds,
)
from carecircle.outputs.maps.comparison import (
    CHANGE_COLORS,
    FACILITY_CHANGES,
    SCENARIO_ISO_COLORS,
    change_span,
    change_ticks,
    focus_minutes,
)
from carecircle.outputs.staticmap import (
    cjk_font,
    community_names,
    draw_facility_types,
    label_communities,
    map_font,
    map_language,
    map_note,
    merged_isochrone,
    metric_crs,
    percents,
    project,
    wrap_label,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # lazy: matplotlib is heavy and only the PNG needs it

    from carecircle.plan.compare import Comparison

__all__ = ["comparison_map_bytes", "comparison_map_figure"]

_NO_DATA_COLOR = "#bdbdbd"
#: Labels of this map not in :data:`carecircle.outputs.i18n.COMPARISON_MAP_LABELS`; ``{m}`` is a threshold.
LABELS: dict[str, dict[str, str]] = {
    "en": {"subtitle": "Elderly within {m} min walk: {base} {before} → {plan} {after} ({change} points)",
           "no_data": "No elderly"},
    "zh": {"subtitle": "{m}分钟步行可达老年人比例：{base} {before} → {plan} {after}（{change}个百分点）",
           "no_data": "无老年人"},
}


def comparison_map_figure(cmp: Comparison, *, lang: str = "en", title: str | None = None,
                          minutes: float | None = None, size_in: tuple[float, float] | None = None) -> Figure:
    """The comparison's static map as a matplotlib :class:`~matplotlib.figure.Figure` (Agg canvas).

    Parameters
    ----------
    cmp : carecircle.plan.compare.Comparison
        Output of :func:`carecircle.plan.compare.compare`.
    lang : {"en", "zh"}
        Language of the texts (Chinese needs a CJK font, else English and a warning, once).
    title : str, optional
        Default "Scenario comparison: <base> → <plan>" in ``lang``.
    minutes : float, optional
        Threshold drawn, one of ``cmp.thresholds_min``; default the largest at which coverage changes.
    size_in : (width, height) in inches, optional
        Default: fitted to the area and its legend, at most 10 × 9 in.

    Raises
    ------
    InputError
        Unknown ``lang``, ``minutes`` not a threshold of the comparison, or nothing to draw.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: matplotlib is heavy and only the PNG needs it
    from matplotlib.colors import LinearSegmentedColormap, Normalize, to_rgba
    from matplotlib.figure import Figure  # lazy: matplotlib is heavy and only the PNG needs it
    from matplotlib.lines import Line2D  # lazy: matplotlib is heavy and only the PNG needs it
    from matplotlib.patches import Patch  # lazy: matplotlib is heavy and only the PNG needs it

    lang = map_language(lang)
    top = focus_minutes(cmp) if minutes is None else float(minutes)
    if not any(np.isclose(top, t) for t in cmp.thresholds_min):
        raise InputError(f"minutes={minutes!r} is not a threshold of the comparison "
                         f"({', '.join(map(threshold_label, cmp.thresholds_min))}).")
    lab = threshold_label(top)
    labels = {**in_language(COMPARISON_MAP_LABELS, lang), **LABELS[lang]}
    plan, cov = cmp.plan, cmp.plan.coverage
    if (metres := getattr(plan, "distances_m", None)) is not None:  # thresholds given as walking distances
        labels = in_metres(labels, {threshold_label(t): f"{d:g}" for t, d in
                                    zip(cov.thresholds_min, metres, strict=True)})
    crs = metric_crs(plan, cov)
    communities = project(cov.communities, crs)
    names = community_names(communities, lang, cjk_font() is not None)
    heading = title or labels["title"].format(base=cmp.base_name, plan=cmp.plan_name)
    note = map_note(plan.note, lang)
    font = map_font(lang, heading, note or "", *names)
    changes = project(cmp.facilities, crs)
    facilities = project(cov.facilities, crs)
    changed_ids = set(changes["facility_id"].astype(str)) if "facility_id" in changes else set()
    unchanged = facilities[~facilities["facility_id"].astype(str).isin(changed_ids).to_numpy()] \
        if "facility_id" in facilities else facilities
    base_iso, plan_iso = (merged_isochrone(s.isochrones, top, crs) for s in (cmp.base, cmp.plan))
    newly, lost = (_flagged(points, f"{kind}_{lab}", crs) for points, kind in
                   ((cmp.newly_covered, "newly"), (cmp.no_longer_covered, "lost")))
    if not len(communities) and not len(facilities) and not len(changes):
        raise InputError("nothing to draw: the comparison has no communities and no facilities.")

    fig = Figure(figsize=size_in or MAX_FIT_IN, dpi=150, layout=None)
    FigureCanvasAgg(fig)  # a renderer, to measure the legend
    ax = fig.add_axes((0.02, 0.05, 0.70, 0.85), aspect="equal")
    ax.set_axis_off()
    span = change_span(cmp, lab)
    cmap = LinearSegmentedColormap.from_list("change", list(CHANGE_COLORS))
    norm = Normalize(-span, span)
    ax.set(**dict(zip(("xlim", "ylim"), _limits(view_bounds([communities, facilities, changes, plan_iso, base_iso])),
                      strict=True)))
    if plan.network is not None:
        draw_network(ax, plan.network, crs)

    handles: list[Any] = []
    if len(communities):
        table = cmp.communities.set_index(cmp.communities["community_id"].astype(str))
        column = f"share_{lab}_change"
        change = pd.to_numeric(table[column], errors="coerce").reindex(
            communities["community_id"].astype(str)).to_numpy(dtype=float) if column in table else np.full(
            len(communities), np.nan)
        colors = np.array([to_rgba(_NO_DATA_COLOR) if np.isnan(c) else cmap(norm(np.clip(c, -span, span)))
                           for c in change])
        ax.add_collection(polygons(communities.geometry.values, facecolors=colors, edgecolors="#555555",
                                   linewidths=0.8, alpha=0.7, zorder=1, gid="communities"), autolim=False)
        if np.isnan(change).any():
            handles.append(Patch(facecolor=_NO_DATA_COLOR, edgecolor="white", label=labels["no_data"]))
    base_color, plan_color = SCENARIO_ISO_COLORS
    for shape, name, color, style, gid in ((plan_iso, cmp.plan_name, plan_color, "-", "plan-isochrone"),
                                           (base_iso, cmp.base_name, base_color, "--", "base-isochrone")):
        if shape is None:
            continue
        if gid == "plan-isochrone":
            ax.add_collection(polygons(shape.values, facecolors=to_rgba(color, 0.08), edgecolors="none",
                                       zorder=2), autolim=False)
        ax.add_collection(lines(shape.boundary.values, one_path=True, facecolors="none", edgecolors=color,
                                linewidths=1.6, linestyles=style, zorder=2.5, gid=gid), autolim=False)
        key = "plan_iso" if gid == "plan-isochrone" else "base_iso"
        handles.append(Line2D([], [], color=color, linewidth=1.6, linestyle=style,
                              label=labels[key].format(name=name, m=lab)))
    up, down = CHANGE_COLORS[2], CHANGE_COLORS[0]
    biggest = max([float(pd.to_numeric(p["population"], errors="coerce").max()) for p in (newly, lost)
                   if len(p) and "population" in p] + [1e-9])
    for points, color, key, gid in ((newly, up, "newly_layer", "newly-covered"),
                                    (lost, down, "lost_layer", "no-longer-covered")):
        if not len(points):
            continue
        persons = pd.to_numeric(points.get("population", 1.0), errors="coerce")
        size = np.clip(80 * np.asarray(persons, dtype=float) / biggest, 10, 80)
        ax.scatter(points.geometry.x, points.geometry.y, s=size, color=color, edgecolors="white", linewidths=0.5,
                   alpha=0.9, zorder=4, gid=gid)
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=5.5, markerfacecolor=color,
                              markeredgecolor="white", label=labels[key].format(m=lab)))
    handles += draw_facility_types(ax, unchanged, lang)
    for change_kind, color, symbol in FACILITY_CHANGES:
        rows = changes[(changes["change"] == change_kind).to_numpy()] if "change" in changes else changes.iloc[:0]
        if not len(rows):
            continue
        ax.scatter(rows.geometry.x, rows.geometry.y, s=190, color=color, edgecolors="white", linewidths=1.8,
                   zorder=6, gid=f"facility-{change_kind}")
        for x, y in zip(rows.geometry.x, rows.geometry.y, strict=True):
            ax.text(x, y, symbol, color="white", fontsize=10, fontweight="bold", ha="center", va="center_baseline",
                    zorder=7, fontproperties=font)
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=10, markerfacecolor=color,
                              markeredgecolor="white", label=f"{symbol}  {labels[f'{change_kind}_layer']}"))
    for h in handles:
        h.set_label(wrap_label(h.get_label(), lang))

    row = cmp.headline[np.isclose(cmp.headline["minutes"].astype(float), top)].iloc[0]
    before, after = percents(float(row["share_base"]), float(row["share_plan"]))
    subtitle = labels["subtitle"].format(m=lab, base=cmp.base_name, plan=cmp.plan_name, before=before, after=after,
                                         change=f"{100 * (row['share_plan'] - row['share_base']):+.1f}")
    texts = frame_texts(fig, heading, subtitle, note, font)
    place_key(fig, ax, handles, lambda cax: _change_bar(fig, cax, cmap, norm, span,
                                                        labels["legend_change"].format(m=lab), font),
              font, texts, fit=size_in is None)
    scale_bar(ax, font)
    north_arrow(ax, font)
    label_communities(fig, ax, communities, names, font, avoid=np.vstack(
        [np.column_stack([g.geometry.x, g.geometry.y]) for g in (facilities, changes) if len(g)] or [np.empty((0, 2))]))
    return fig


def comparison_map_bytes(cmp: Comparison, *, lang: str = "en", title: str | None = None,
                         minutes: float | None = None, dpi: int = 150) -> bytes:
    """The comparison's static map as PNG bytes (parameters as for :func:`comparison_map_figure`)."""
    fig = comparison_map_figure(cmp, lang=lang, title=title, minutes=minutes)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def _limits(bounds: tuple[float, float, float, float]) -> tuple[tuple[float, float], tuple[float, float]]:
    x0, y0, x1, y1 = bounds
    return (x0, x1), (y0, y1)


def _flagged(points: gpd.GeoDataFrame | None, flag: str, crs: Any) -> gpd.GeoDataFrame:
    """The demand points whose ``flag`` column is true, projected (none when the column is absent)."""
    if points is None or not len(points) or flag not in points:
        return project(None, crs)
    return project(points[points[flag].fillna(False).astype(bool).to_numpy()], crs)


def _change_bar(fig: Any, cax: Any, cmap: Any, norm: Any, span: float, label: str, font: Any) -> None:
    """The change scale in percentage points, as the interactive comparison map's legend: −span … 0 … +span."""
    from matplotlib.cm import ScalarMappable  # lazy: matplotlib is heavy and only the PNG needs it

    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal")
    ticks = change_ticks(span)
    bar.set_ticks([t / 100 for t in ticks], labels=[f"{t:+d}" if t else "0" for t in ticks])
    bar.ax.tick_params(labelsize=8)
    cax.set_title(label, fontproperties=font, fontsize=9.5, loc="left")
