"""webims auth service: operator credentials in, an IMS registration shared by all of a subscriber's tabs."""

__version__ = "0.1.0"
