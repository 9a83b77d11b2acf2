"""The toolkit's version, in a module of its own so that modules (and pyproject.toml) read it
without importing the package root."""

__version__ = "0.1.0"
