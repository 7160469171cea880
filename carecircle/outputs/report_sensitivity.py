"""The report's section on coverage at several walking speeds (``--speed 0.8,1.0,1.2``): one sentence at the
largest threshold, a chart of the share within each threshold against the speed (plain SVG), and what the rest of
the report uses (:mod:`carecircle.outputs.report`)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from carecircle.core.coverage import threshold_label
from carecircle.formats import fmt_share, is_missing

if TYPE_CHECKING:
    from carecircle.plan.results import StudyResult

__all__ = ["sensitivity_section", "speed_text"]


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def speed_text(value: float) -> str:
    """A walking speed as planners write it: ``1.0``, ``0.8``, ``1.25``."""
    return f"{value:.1f}" if round(value, 1) == value else f"{value:g}"


def sensitivity_section(study: StudyResult, lang: str, labels: Mapping[str, str]) -> str:
    """The coverage at each walking speed: one sentence at the largest threshold, a chart, what the rest uses."""
    table = study.sensitivity
    metres = getattr(study, "distances_m", None)
    top = table.groupby("speed_mps", sort=False).tail(1)
    what = labels["sens_what_m"].format(m=f"{max(metres):g}") if metres else \
        labels["sens_what_min"].format(m=threshold_label(top["minutes"].iloc[0]))
    pairs = ("，" if lang == "zh" else ", ").join(
        labels["sens_pair"].format(share=fmt_share(r.share, labels), v=speed_text(r.speed_mps))
        for r in top.itertuples())
    sentence = labels["sens_sentence"].format(what=what, pairs=pairs)
    note = labels["sens_note"].format(v=speed_text(study.coverage.walk_speed_mps))
    note += labels["sens_note_m"] if metres else ""
    return (f'<p class="lead sensitivity-sentence">{_esc(sentence)}</p>{_chart(study, labels)}'
            f"<p class=meta>{_esc(note)}</p>")


def _chart(study: StudyResult, labels: Mapping[str, str]) -> str:
    """Share within each threshold (one line each) against the walking speed (plain SVG)."""
    table = study.sensitivity
    speeds = list(dict.fromkeys(float(v) for v in table["speed_mps"]))
    metres = getattr(study, "distances_m", None)
    width, height, left, right, top_pad, bottom = 640, 250, 150, 40, 26, 44
    pw, ph = width - left - right, height - top_pad - bottom

    def x_of(i: int) -> float:  # 36 px in from the axes, so that the end points' labels clear them
        return left + 36 + ((pw - 72) * i / (len(speeds) - 1) if len(speeds) > 1 else (pw - 72) / 2)

    def y_of(share: float) -> float:
        return top_pad + (1 - max(0.0, min(1.0, share))) * ph

    parts = []
    for f in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{left}" y1="{y_of(f):.1f}" x2="{width - right}" y2="{y_of(f):.1f}" '
                     f'stroke="#e3e3e3"/><text x="{left - 6}" y="{y_of(f) + 4:.1f}" text-anchor="end" '
                     f'font-size="11" fill="#555">{100 * f:.0f}%</text>')
    for i, v in enumerate(speeds):
        parts.append(f'<text x="{x_of(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="12" '
                     f'fill="#222">{speed_text(v)}</text>')
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="11" '
                 f'fill="#555">{_esc(labels["sens_speed_axis"])}</text>')
    order = sorted(table["minutes" if not metres else "metres"].unique())
    key = "metres" if metres else "minutes"
    shades = ["#9ecae1", "#4292c6", "#08519c", "#08306b"]
    for j, t in enumerate(order):
        rows = table[table[key] == t]
        pts = [(x_of(speeds.index(float(r.speed_mps))), y_of(float(r.share)), r.share) for r in rows.itertuples()
               if not is_missing(r.share)]
        color = shades[min(len(shades) - 1, j + max(0, len(shades) - len(order)))]
        parts.append(f'<polyline class="sens-line" fill="none" stroke="{color}" stroke-width="2" '
                     f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y, _ in pts)}"/>')
        for x, y, share in pts:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"><title>'
                         f"{_esc(fmt_share(share, labels))}</title></circle>"
                         f'<text x="{x:.1f}" y="{y - 7 if j == len(order) - 1 else y + 15:.1f}" '
                         f'text-anchor="middle" font-size="11" fill="{color}">'
                         f"{_esc(fmt_share(share, labels))}</text>")
        if pts:
            name = labels["within_m"].format(m=f"{t:g}") if metres else labels["within"].format(m=threshold_label(t))
            parts.append(f'<text x="{left - 44}" y="{pts[0][1] + 4:.1f}" text-anchor="end" font-size="11" '
                         f'fill="{color}">{_esc(name)}</text>')
    caption = _esc(labels["sens_chart"])
    return (f'<figure class="chart"><svg class="sensitivity-chart" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{caption}">{"".join(parts)}</svg>'
            f"<figcaption class=meta>{caption}</figcaption></figure>")
