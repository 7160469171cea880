"""The package version (one place; read by the CLI and written into every summary and report)."""

__version__ = "0.1.0"
