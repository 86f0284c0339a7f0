"""webims video service: video in the voice service's calls, relayed between the browser and IMS phones."""

__version__ = "0.1.0"
