"""webims: the IMS gateway that gives a browser the services of a native IMS phone."""

__version__ = "0.1.0"
