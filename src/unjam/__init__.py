"""unjam: find FastAPI code that stalls the event loop, and rewrite it safely."""

__version__ = "0.1.0"
