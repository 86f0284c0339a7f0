"""A minimal webims service: greets the browser. Shows every piece a real plugin has, and nothing more."""

__version__ = "1.2.0"
