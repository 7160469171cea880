"""Public exceptions.

Every error a user can act on is a :class:`CarecircleError`; each subclass also derives from the
built-in exception a Python caller would expect, and maps to one CLI exit code (see ``EXIT_CODES``).
Messages are one line: what is wrong, the offending values, and what to do.
"""

from __future__ import annotations


class CarecircleError(Exception):
    """Base class of every error carecircle raises on purpose."""


class InputError(CarecircleError, ValueError):
    """An input file or argument is malformed (missing column, bad geometry, no CRS, ...)."""


class NetworkError(CarecircleError, RuntimeError):
    """The walking network cannot be read, downloaded or used (unreadable file, empty area, ...)."""


class SnapError(InputError):
    """Points lie farther from the walking network than the allowed snapping distance."""


class OutputError(CarecircleError, OSError):
    """Results cannot be written where asked."""


#: CLI exit code of each error class (most specific first). 2 is argparse's usage error.
EXIT_CODES: dict[type[CarecircleError], int] = {
    SnapError: 4,
    InputError: 3,
    NetworkError: 5,
    OutputError: 6,
    CarecircleError: 1,
}


def exit_code(error: CarecircleError) -> int:
    """Exit code for ``error``: the entry of its most specific class in :data:`EXIT_CODES`."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1
