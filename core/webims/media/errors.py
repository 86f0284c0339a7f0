"""The media layer's one error type."""

from __future__ import annotations

from webims.errors import WebimsError

__all__ = ["MediaError"]


class MediaError(WebimsError):
    """A media operation failed; ``reason`` is a sentence a person can act on.

    The call layer shows it to the user or puts it in the reason of a SIP 488
    ("The other phone offered only AMR-WB; this gateway supports Opus, PCMU and PCMA.").
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __reduce__(self):
        # Crosses the pipe from a worker process (see workers.py) intact.
        return (type(self), (self.reason,))
