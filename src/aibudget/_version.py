"""The package's version (``aibudget.__version__``), here so a module of any layer can name it
without importing the package's top, which provides the edge's views (:mod:`aibudget._shown`)."""

__version__ = "0.1.0"
