"""webims presence service: her status published to the IMS, her contacts' status watched, her watchers decided."""

__version__ = "0.1.0"
