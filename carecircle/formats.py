"""How values read in maps, reports and tables: persons, shares, yes/no, text, missing values (one place)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd


def is_missing(value: Any) -> bool:
    """None, NaN, NA and NaT are missing; anything pandas cannot test is not."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_persons(value: Any, labels: Mapping[str, str]) -> str:
    """Persons rounded to whole numbers with thousands separators; ``labels["na"]`` when missing or infinite."""
    if is_missing(value) or not math.isfinite(float(value)):
        return labels["na"]
    return f"{float(value):,.0f}"


def covered_persons(value: float) -> int:
    """Persons covered, as every output counts them: whole persons, rounded down (placed demand is fractional; a
    person partly covered is not counted). With :func:`uncovered_persons` they add up to a whole population."""
    return max(math.floor(float(value) + 1e-6), 0)


def uncovered_persons(value: float) -> int:
    """Persons not covered, rounded up, as the standards' shortfalls count them ("still needs 512")."""
    return max(math.ceil(float(value) - 1e-6), 0)


def person_flows(base: float, plan: float, newly: float, lost: float) -> tuple[int, int]:
    """Newly covered and no longer covered persons, whole, adding up with the covered figures as every output shows
    them: ``covered_persons(base) + newly - lost == covered_persons(plan)``.

    Each flow starts at its nearest whole number; the one or two persons rounding leaves over move, one at a time,
    onto whichever flow stays nearer its true value (never below zero, a flow of nobody only when the other cannot
    move). ``base`` and ``plan`` are the covered persons of one threshold before and after; ``newly`` and ``lost``
    the (fractional) persons whose coverage changed, so ``base + newly - lost == plan`` up to float error.
    """
    n, lost_n = round(float(newly)), round(float(lost))
    for _ in range(8):  # the gap is at most 2 when the inputs add up; bounded in case they do not
        gap = (n - lost_n) - (covered_persons(plan) - covered_persons(base))
        if gap == 0:
            break
        step = 1 if gap > 0 else -1
        moves = [(abs(n - step - newly) + (newly == 0), "n")] if n - step >= 0 else []
        moves += [(abs(lost_n + step - lost) + (lost == 0), "l")] if lost_n + step >= 0 else []
        if not moves:
            break
        if min(moves)[1] == "n":
            n -= step
        else:
            lost_n += step
    return n, lost_n


def fmt_covered(value: Any, labels: Mapping[str, str]) -> str:
    """Persons covered (:func:`covered_persons`) with thousands separators; ``labels["na"]`` when missing."""
    if is_missing(value) or not math.isfinite(float(value)):
        return labels["na"]
    return f"{covered_persons(value):,}"


def fmt_uncovered(value: Any, labels: Mapping[str, str]) -> str:
    """Persons not covered (:func:`uncovered_persons`) with thousands separators; ``labels["na"]`` when missing."""
    if is_missing(value) or not math.isfinite(float(value)):
        return labels["na"]
    return f"{uncovered_persons(value):,}"


def fmt_share(value: Any, labels: Mapping[str, str]) -> str:
    """A share 0..1 as a percentage with one decimal."""
    if is_missing(value):
        return labels["na"]
    return f"{100 * float(value):.1f}%"


def fmt_num(value: Any, labels: Mapping[str, str]) -> str:
    if is_missing(value):
        return labels["na"]
    return f"{float(value):g}"


def fmt_bool(value: Any, labels: Mapping[str, str]) -> str:
    if is_missing(value):
        return labels["na"]
    return labels["yes"] if bool(value) else labels["no"]


def fmt_text(value: Any, labels: Mapping[str, str] | None = None) -> str:
    """A value as plain text: whole floats without ``.0`` (ids read from CSV), ``labels["na"]`` when missing
    (the empty string without ``labels``). Not HTML-escaped."""
    if is_missing(value):
        return labels["na"] if labels is not None else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
