"""Read a table as planners hold it: CSV in any of the usual encodings and delimiters, or an Excel sheet.

* Encodings are tried in a fixed order that never mis-decodes valid UTF-8: a UTF-16 byte-order mark → UTF-16;
  otherwise UTF-8 (with or without BOM); otherwise GB18030 (a superset of GBK and GB2312, what Excel writes on
  Chinese Windows). The encoding used is logged at INFO.
* The delimiter is read from the header line (comma, tab or semicolon); a semicolon- or tab-separated file whose
  rows hold decimal commas (``24,94``) is refused as ambiguous.
* ``.xlsx`` / ``.xlsm`` (openpyxl) and ``.xls`` (xlrd, if installed) are read through pandas, first sheet unless
  ``sheet`` is given.
* :func:`resolve_column` finds a standard column under its Chinese or English aliases (``编号`` → ``facility_id``)
  and :func:`split_location` splits an Amap/Tencent ``location`` column (``"lon,lat"``) into ``lon`` / ``lat``.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from pathlib import Path

import pandas as pd

from carecircle.errors import InputError

log = logging.getLogger(__name__)

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
TABLE_SUFFIXES = CSV_SUFFIXES + EXCEL_SUFFIXES

#: Other names of each standard column, compared after stripping spaces and lower-casing. Used only when the
#: standard column itself is absent and no column was named explicitly.
ALIASES: dict[str, tuple[str, ...]] = {
    "facility_id": ("id", "编号", "序号", "机构编号", "设施编号", "fid"),
    "community_id": ("id", "编号", "序号", "社区编号", "社区代码", "code"),
    "name": ("名称", "机构名称", "设施名称", "社区名称", "name_zh"),
    "type": ("类型", "设施类型", "机构类型", "facility_type"),
    "capacity": ("服务能力", "容量", "服务人数"),
    "beds": ("床位", "床位数", "床位数量", "总床位"),
    "nursing_beds": ("护理型床位", "护理型床位数", "护理床位"),
    "floor_area_m2": ("建筑面积", "面积", "建筑面积(m2)", "建筑面积（平方米）", "floor_area", "area_m2"),
    "pop_60plus": ("60岁及以上人口", "老年人口", "60岁以上人口", "elderly", "pop60", "pop_60"),
    "pop_total": ("总人口", "常住人口", "人口", "population_total"),
    "households": ("户数", "总户数"),
    "subdistrict": ("街道", "街道办", "乡镇", "乡镇街道", "街道（乡镇）"),
    "district": ("区县", "区", "县", "区（县）"),
    "pop_0_3": ("0–3岁人口", "0-3岁人口", "0—3岁人口", "0～3岁人口", "婴幼儿人口"),
    "area_type": ("城乡类型", "城乡属性", "社区类型", "urban_rural"),  # 社区类型 only when it says urban/rural
    "residential": ("新建/既有", "新建或既有", "小区类型", "居住区类型", "新旧类型"),
    "ownership": ("机构性质", "性质", "举办性质", "所有制", "所有制性质", "公办民办"),
    "build_status": ("建设状态", "建设性质", "建设类型", "新建改建", "新改扩建", "建设情况"),
    "population": ("人口", "老年人口", "60岁及以上人口", "pop"),
}
_LOCATION_ALIASES = ("location", "经纬度", "坐标", "lnglat", "lonlat")


def read_table(path: Path, *, sheet: str | int | None = None, text=(), name: str | None = None) -> pd.DataFrame:
    """A CSV/TSV or Excel file as a DataFrame; columns in ``text`` (ids, names) are read as text.

    Raises :class:`~carecircle.errors.InputError` when the file cannot be decoded, has an ambiguous delimiter,
    or the sheet does not exist.
    """
    name = name or path.name
    aliases = {given: ALIASES.get(given, ()) for given in text if given}  # an id under an alias stays text too
    text = {c: str for given, alts in aliases.items() for c in (given, *alts, *(a.upper() for a in alts))}
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _read_excel(path, sheet=sheet, text=text, name=name)
    if sheet is not None:
        raise InputError(f"{name}: a sheet ({sheet!r}) was given, but the file is not an Excel workbook; "
                         "leave out the sheet or give the .xlsx.")
    raw = path.read_bytes()
    encoding = detect_encoding(raw)
    body = raw.decode(encoding)
    if body.startswith("\ufeff"):
        body = body[1:]
    sep = "\t" if path.suffix.lower() == ".tsv" else sniff_delimiter(body, name=name)
    log.info("%s: read as %s, %s-separated", name, encoding.upper(), {",": "comma", "\t": "tab", ";": "semicolon"}[sep])
    if not body.strip():
        raise pd.errors.EmptyDataError("no data")
    return pd.read_csv(io.StringIO(body), sep=sep, dtype=text)


def detect_encoding(raw: bytes) -> str:
    """``utf-16`` by BOM, else ``utf-8-sig`` / ``utf-8`` when the bytes are valid UTF-8, else ``gb18030``.

    Raises :class:`UnicodeDecodeError` when none of them decodes the bytes."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    raw.decode("gb18030")  # raises UnicodeDecodeError on bytes that are no Chinese text either
    return "gb18030"


_DECIMAL_COMMA = re.compile(r"(?<![\d.])-?\d+,\d+(?![\d.,])")


def sniff_delimiter(body: str, *, name: str) -> str:
    """The delimiter of the header line: ``,``, ``\\t`` or ``;``.

    A tab- or semicolon-separated file whose first rows hold decimal commas is refused (the numbers' meaning
    is ambiguous)."""
    lines = body.splitlines()
    header = lines[0] if lines else ""
    if "," in header or not header.strip():
        return ","
    try:
        sep = csv.Sniffer().sniff(header, delimiters="\t;").delimiter
    except csv.Error:
        return ","
    what = {"\t": "tab", ";": "semicolon"}[sep]
    rows = lines[1:51]
    if any(_DECIMAL_COMMA.search(cell) for row in rows for cell in row.split(sep)):
        shown = header if len(header) <= 60 else header[:57] + "..."
        raise InputError(
            f"{name}: looks like a {what}-separated file with decimal commas (header {shown!r}); "
            "save it as comma-separated CSV (Excel: CSV UTF-8) with decimal points."
        )
    return sep


def _read_excel(path: Path, *, sheet, text, name: str) -> pd.DataFrame:
    try:
        book = pd.ExcelFile(path)
    except ImportError as exc:  # .xls needs xlrd, not a dependency
        raise InputError(f"{name}: reading {path.suffix} needs an extra package ({exc}); "
                         "save the sheet as .xlsx or CSV.") from exc
    except Exception as exc:  # zipfile/openpyxl errors: not a workbook
        raise InputError(f"{name}: cannot read as an Excel workbook ({type(exc).__name__}); "
                         "save it as .xlsx or CSV.") from exc
    names = book.sheet_names
    if sheet is None:
        chosen = names[0]
    elif isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit() and sheet not in names):
        index = int(sheet)
        if not 0 <= index < len(names):
            raise InputError(f"{name}: no sheet number {index} (sheets are {', '.join(map(repr, names))}, "
                             "numbered from 0).")
        chosen = names[index]
    elif sheet in names:
        chosen = sheet
    else:
        raise InputError(f"{name}: no sheet {sheet!r}; sheets are {', '.join(map(repr, names))}.")
    if len(names) > 1:
        log.info("%s: reading sheet %r of %d", name, chosen, len(names))
    return pd.read_excel(book, sheet_name=chosen, dtype=text)


def resolve_column(columns, standard: str, given: str, *, file: str, option: str) -> str:
    """The column to read for ``standard``: ``given`` when it is present or was named explicitly (differs from
    ``standard``); else the one alias of it present in ``columns``; else ``given`` (absent).

    Two aliases present at once is an error naming both."""
    cols = [c for c in columns if c != "geometry"]
    if given in cols or given != standard:
        return given
    key = {}
    for c in cols:
        key.setdefault(str(c).strip().lower(), c)
    found = [key[a.lower()] for a in ALIASES.get(standard, ()) if a.lower() in key]
    found = list(dict.fromkeys(found))
    if len(found) > 1:
        raise InputError(f"{file}: columns {', '.join(map(repr, map(str, found)))} could each be {standard!r}; "
                         f"name the right one with {option}.")
    if found:
        log.info("%s: column %r read as %s", file, str(found[0]), standard)
        return found[0]
    return given


def split_location(df: pd.DataFrame, *, file: str) -> pd.DataFrame:
    """Split an Amap/Tencent ``location`` (or ``经纬度``) column of ``"lon,lat"`` into ``lon`` and ``lat``.

    Returns the table unchanged when it has lon/lat already or no such column."""
    lower = {str(c).strip().lower(): c for c in df.columns}
    if any(k in lower for k in ("lon", "lng", "longitude", "经度")):
        return df
    col = next((lower[a] for a in _LOCATION_ALIASES if a in lower), None)
    if col is None:
        return df
    parts = df[col].astype("string").str.replace("，", ",", regex=False).str.split(",", n=1, expand=True)
    if parts.shape[1] != 2:
        raise InputError(f"{file}: column {str(col)!r} must hold 'lon,lat' (e.g. 116.397,39.908), but no row "
                         "has a comma.")
    out = df.drop(columns=[col]).copy()
    out["lon"], out["lat"] = parts[0].str.strip(), parts[1].str.strip()
    log.info("%s: coordinates split from the %r column (lon,lat)", file, str(col))
    return out
