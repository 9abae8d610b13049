"""The package's version, in a module of its own: a report format reads it without importing the runtime."""

__version__ = "0.1.0"
