"""The package's shape, checked from its source: layers import one way, no cycles, no private names across
modules, no import hidden inside a function, folium only in the map renderers, outputs that only render.

Layers, bottom to top: base (errors, version, formats, defaults) → io → core → plan → outputs → top (config,
pipeline, scenario, runner, commands, cli). A module may import its own layer or any layer below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import carecircle

PACKAGE = Path(carecircle.__file__).parent
LAYERS = {"errors": 0, "version": 0, "formats": 0, "defaults": 0, "io": 1, "core": 2, "plan": 3, "outputs": 4}
TOP = 5
#: Third-party libraries a function may import lazily, with the reason (each import carries a comment too).
HEAVY_OPTIONAL = {"folium", "branca", "matplotlib", "pyrosm", "osmium", "osmnx", "rich", "platformdirs", "openpyxl",
                  "scipy", "importlib", "dask", "distributed", "rasterio", "exactextract"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], TOP) if len(parts) > 1 else TOP


def _resolve(module: str, node: ast.ImportFrom) -> list[tuple[str, str | None]]:
    """(imported module, imported name or None) pairs of one ``from`` import, relative ones resolved."""
    base = node.module or ""
    if node.level:
        pkg = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        base = ".".join(pkg[: len(pkg) - node.level + 1] + ([base] if base else []))
    out = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        out.append((sub, None) if sub in MODULES else (base, alias.name))
    return out


def _imports(module: str) -> list[tuple[str, str | None, bool, int]]:
    """(module, name, inside a function, line) of every import in ``module``, type-only ones included."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, None, in_function, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                found.extend((m, n, in_function, child.lineno) for m, n in _resolve(module, child))
            visit(child, inner)

    visit(tree, False)
    return found


def _internal_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _name, _inner, _line in _imports(module):
            if target in MODULES and target != module and target != "carecircle":
                edges[module].add(target)
    return edges


def test_no_import_cycles_not_even_type_only_ones():
    edges = _internal_edges()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in MODULES:
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_layers_import_only_downwards():
    upward = [f"{m} ({_layer(m)}) imports {t} ({_layer(t)})" for m, targets in _internal_edges().items()
              for t in targets if _layer(t) > _layer(m)]
    assert upward == []


def test_no_private_names_imported_across_modules():
    private = [f"{m} imports {t}.{n}" for m in MODULES for t, n, _inner, _line in _imports(m)
               if t.startswith("carecircle") and n is not None and n.startswith("_") and not n.startswith("__")]
    assert private == []


#: Entry points that may import the package on demand, for a quick start (``carecircle --help``); each such
#: line says ``# lazy:`` and why. A lazy import is still an edge for the cycle test above, so it hides no cycle.
ENTRY_POINTS = {"carecircle", "carecircle.cli"}


def _says_lazy(module: str, line: int) -> bool:
    return "# lazy:" in MODULES[module].read_text(encoding="utf-8").splitlines()[line - 1]


def test_no_package_import_hidden_inside_a_function():
    """Imports of carecircle modules sit at the top of the file, except in the entry points' commented lazy
    imports. Third-party imports inside functions are allowed only for heavy or optional libraries."""
    hidden = [f"{m} line {line}: {t}" for m in MODULES for t, _n, inner, line in _imports(m)
              if inner and ((t.startswith("carecircle") and not (m in ENTRY_POINTS and _says_lazy(m, line)))
                            or (not t.startswith("carecircle") and t.split(".")[0] not in HEAVY_OPTIONAL | _stdlib()))]
    assert hidden == []


def test_the_command_line_starts_without_the_heavy_libraries():
    """``carecircle --help`` parses with nothing heavy imported (measured: 1.0 s before, when it imported all)."""
    import subprocess
    import sys

    code = ("import sys, carecircle.cli as c; p = c._parser(); p.parse_args(['run', '--speed', 'slow']); "
            "print(sorted(m for m in ('geopandas', 'scipy', 'folium', 'pandas', 'shapely', 'pydantic', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _stdlib() -> set[str]:
    import sys

    return set(sys.stdlib_module_names)


def test_only_the_map_renderers_import_folium():
    users = sorted({m for m in MODULES for t, _n, _i, _l in _imports(m) if t.split(".")[0] in ("folium", "branca")})
    assert users and all(m.startswith("carecircle.outputs.maps") for m in users), users


def test_map_layers_are_made_by_geojson_layer():
    """Every GeoJSON layer goes through maps.elements.geojson_layer, whose geometries GEOS writes and whose script
    is not compiled again: a GeoDataFrame handed to folium.GeoJson is converted coordinate by coordinate in Python
    (a minute for a city's map)."""
    direct = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "GeoJson"
                    and not module.endswith("maps.elements")):
                direct.append(f"{module}:{node.lineno}")
    assert direct == []


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("carecircle.outputs")])
def test_outputs_only_render(module):
    """Outputs draw what the result objects hold: they import no shortest-path, coverage, isochrone or
    siting computation (a suggestion carries its own isochrones)."""
    computing = {"carecircle.core.travel", "carecircle.core.isochrones", "carecircle.core.demand",
                 "carecircle.plan.siting", "carecircle.plan.optimize", "carecircle.plan.compliance"}
    banned_names = {"measure_coverage", "isochrones", "travel_times", "suggest_sites", "evaluate", "compare"}
    found = [f"{t}.{n}" if n else t for t, n, _i, _l in _imports(module)
             if t in computing or any(t.startswith(c + ".") for c in computing)
             or (t.startswith("carecircle") and n in banned_names)]
    assert found == []


def test_every_module_is_under_800_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 800}
    assert long == {}
