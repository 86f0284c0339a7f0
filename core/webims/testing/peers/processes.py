"""Ending a peer process the test started: by its PID, politely first."""

from __future__ import annotations

import signal
import subprocess


def terminate(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM (so the peer can say goodbye: baresip de-registers), SIGKILL if it is still there after
    ``timeout``; returns once it is gone."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
