"""The index page of a batch (``index.html``): every region × variation ranked by coverage, a link to each report,
a small map of all regions coloured by coverage, and the tasks that failed with their message.

It renders the batch summary table (:func:`carecircle.batch.summary.summary_table`) and the regions' outlines;
it computes nothing. Every text from the user (region and variation names, titles, error messages) is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

#: Coverage classes of the overview map: (lowest share, colour, label), from the top.
CLASSES = ((0.9, "#1a9850", "≥ 90%"), (0.8, "#91cf60", "80–90%"), (0.7, "#fee08b", "70–80%"),
           (0.5, "#fc8d59", "50–70%"), (0.0, "#d73027", "< 50%"))
_NO_DATA = "#bdbdbd"
_MAP_W, _MAP_H, _PAD = 640.0, 360.0, 12.0

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;
color:#1a1a1a;max-width:1200px}
h1{font-size:1.5em;margin:0 0 4px}h2{font-size:1.15em;margin:28px 0 8px}
p.lead{color:#444;margin:0 0 16px}
table{border-collapse:collapse;font-size:.9em;width:100%}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.failed td{color:#8b0000}
.map{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}
svg{border:1px solid #ccc;background:#fafafa}
.legend span{display:inline-block;width:14px;height:14px;margin-right:6px;vertical-align:middle;border:1px solid #999}
.legend div{margin:3px 0;font-size:.9em}
"""


def render_batch_index(table: pd.DataFrame, outlines: Mapping[str, Any], *, title: str | None = None,
                       link: Callable[[str], str] = str) -> str:
    """The index page as one self-contained HTML document.

    Parameters
    ----------
    table : the batch summary: ``region``, ``variation``, ``status``, ``rank``, ``share_<m>`` per threshold,
        ``targets_met``, ``targets_not_met``, ``new_sites``, ``report`` (relative path) and ``error``.
    outlines : region name → its outline as a GeoJSON geometry mapping in WGS-84 (``None``: not drawn).
    title : the page's heading (default: "Batch of N regions").
    link : turns a relative path into an URL (percent-encoding).
    """
    regions = list(dict.fromkeys(table["region"])) if len(table) else []
    shares = [c for c in table.columns if c.startswith("share_") and c != "share_after_new_sites"]
    top = max(shares, key=lambda c: float(c.removeprefix("share_"))) if shares else None
    done = table[table["status"] == "done"] if len(table) else table
    failed = table[table["status"] == "failed"] if len(table) else table
    heading = title or f"Batch of {len(regions)} region{'s' if len(regions) != 1 else ''}"
    lead = (f"{len(table)} tasks: {len(done)} done, {len(failed)} failed. Ranked by the share of older people "
            f"within {top.removeprefix('share_')} minutes' walk of elder care." if top else f"{len(table)} tasks.")
    parts = [f"<h1>{_esc(heading)}</h1>", f'<p class="lead">{_esc(lead)} '
             f'<a href="{_esc(link("summary.csv"))}">summary.csv</a> · '
             f'<a href="{_esc(link("summary.xlsx"))}">summary.xlsx</a> · '
             f'<a href="{_esc(link("manifest.json"))}">manifest.json</a></p>']
    region_share = {}
    if top is not None:
        for region in regions:
            rows = done[done["region"] == region]
            values = rows[top].dropna()
            region_share[region] = float(values.iloc[0]) if len(values) else None
    parts.append(_map_section(regions, outlines, region_share, top))
    parts.append(_ranking(done.sort_values("rank", kind="mergesort") if len(done) else done, shares, link))
    if len(failed):
        parts.append("<h2>Failed</h2><table><thead><tr><th>Region</th><th>Variation</th><th>Error</th></tr></thead>"
                     "<tbody>" + "".join(f'<tr class="failed"><td>{_esc(r.region)}</td><td>{_esc(r.variation)}</td>'
                                         f"<td>{_esc(r.error)}</td></tr>" for r in failed.itertuples()) +
                     "</tbody></table>")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_esc(heading)}</title><style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")


def _ranking(done: pd.DataFrame, shares: list[str], link: Callable[[str], str]) -> str:
    if not len(done):
        return "<h2>Ranking</h2><p>No task finished.</p>"
    head = ("<th>#</th><th>Region</th><th>Variation</th><th>Older people</th>"
            + "".join(f"<th>Within {_esc(c.removeprefix('share_'))} min</th>" for c in shares)
            + "<th>Targets met</th><th>New sites → coverage</th><th>Report</th>")
    rows = []
    for _, r in done.iterrows():
        targets = "" if _missing(r.get("targets_met")) else \
            f"{int(r['targets_met'])} of {int(r['targets_met']) + int(r.get('targets_not_met') or 0)}"
        sites = "" if _missing(r.get("new_sites")) else \
            f"{int(r['new_sites'])} → {_pct(r.get('share_after_new_sites'))}"
        report = "" if _missing(r.get("report")) else f'<a href="{_esc(link(str(r["report"])))}">report</a>'
        rows.append(f"<tr><td class=\"num\">{_esc(_int(r['rank']))}</td><td>{_esc(r['region'])}</td>"
                    f"<td>{_esc(r['variation'])}</td><td class=\"num\">{_esc(_count(r.get('elderly')))}</td>"
                    + "".join(f'<td class="num">{_esc(_pct(r.get(c)))}</td>' for c in shares)
                    + f"<td>{_esc(targets)}</td><td>{_esc(sites)}</td><td>{report}</td></tr>")
    return f"<h2>Ranking</h2><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _map_section(regions: list[str], outlines: Mapping[str, Any], share: Mapping[str, float | None],
                 top: str | None) -> str:
    shapes = {r: _rings(outlines.get(r)) for r in regions}
    shapes = {r: rings for r, rings in shapes.items() if rings}
    if not shapes:
        return ""
    points = [p for rings in shapes.values() for ring in rings for p in ring]
    lat0 = math.radians(sum(p[1] for p in points) / len(points))
    xs = [p[0] * math.cos(lat0) for p in points]
    ys = [p[1] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    scale = min((_MAP_W - 2 * _PAD) / max(max(xs) - min(xs), span * 1e-3),
                (_MAP_H - 2 * _PAD) / max(max(ys) - min(ys), span * 1e-3))

    dx = (_MAP_W - 2 * _PAD - (max(xs) - min(xs)) * scale) / 2  # centred
    dy = (_MAP_H - 2 * _PAD - (max(ys) - min(ys)) * scale) / 2

    def xy(p) -> str:
        return (f"{_PAD + dx + (p[0] * math.cos(lat0) - min(xs)) * scale:.1f},"
                f"{_MAP_H - _PAD - dy - (p[1] - min(ys)) * scale:.1f}")

    paths = []
    for region, rings in shapes.items():
        d = " ".join("M" + " L".join(xy(p) for p in ring) + " Z" for ring in rings)
        value = share.get(region)
        label = f"{region}: {_pct(value)}" if value is not None else f"{region}: no result"
        paths.append(f'<path d="{d}" fill="{_colour(value)}" fill-rule="evenodd" stroke="#333" stroke-width="0.8">'
                     f"<title>{_esc(label)}</title></path>")
    legend = "".join(f'<div><span style="background:{c}"></span>{_esc(t)}</div>' for _, c, t in CLASSES)
    legend += f'<div><span style="background:{_NO_DATA}"></span>no result</div>'
    what = f"within {top.removeprefix('share_')} min" if top else ""
    return (f"<h2>Regions by coverage {_esc(what)}</h2><div class=\"map\">"
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_MAP_W:.0f}" height="{_MAP_H:.0f}" '
            f'viewBox="0 0 {_MAP_W:.0f} {_MAP_H:.0f}" role="img" aria-label="map of the regions">{"".join(paths)}</svg>'
            f'<div class="legend">{legend}</div></div>')


def _rings(geometry: Any) -> list[list[tuple[float, float]]]:
    """The rings of a GeoJSON Polygon or MultiPolygon mapping (anything else: none)."""
    if not isinstance(geometry, Mapping):
        return []
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    out = []
    for polygon in polygons:
        for ring in polygon:
            pts = [(float(p[0]), float(p[1])) for p in ring if len(p) >= 2]
            if len(pts) >= 3 and all(math.isfinite(v) for p in pts for v in p):
                out.append(pts)
    return out


def _colour(value: float | None) -> str:
    if value is None or _missing(value):
        return _NO_DATA
    return next(c for low, c, _ in CLASSES if value >= low)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _pct(value: Any) -> str:
    return "n/a" if _missing(value) else f"{float(value):.1%}"


def _count(value: Any) -> str:
    return "" if _missing(value) else f"{float(value):,.0f}"


def _int(value: Any) -> str:
    return "" if _missing(value) else str(int(value))


def _esc(value: Any) -> str:
    return html.escape("" if _missing(value) else str(value), quote=True)
