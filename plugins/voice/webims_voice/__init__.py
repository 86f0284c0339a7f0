"""webims voice service: audio calls between the browser and IMS, with a native IMS phone's call features."""

__version__ = "0.1.0"
