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
