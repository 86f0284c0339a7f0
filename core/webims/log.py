"""Structured logging: one line per event, ``key=value`` or JSON, with secrets masked.

    log = webims.log.get("gateway")
    log.info("ws.accepted", peer="127.0.0.1:5123", session="s1")
    -> ts=2026-11-27T01:02:03.456Z level=info component=gateway event=ws.accepted peer=127.0.0.1:5123 session=s1

Field names that can carry a secret (password, token, authorization, ...) are masked wherever they appear, so a
careless call site cannot leak one into a log file.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_SECRET_WORDS = ("password", "passwd", "secret", "token", "authorization", "credential", "cookie", "ha1")
MASK = "***"


def _is_secret(key: str) -> bool:
    key = key.lower()
    return any(word in key for word in _SECRET_WORDS)


def masked(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: (MASK if _is_secret(key) else value) for key, value in fields.items()}


class EventLogger:
    """A logger whose messages are event names with fields (``log.info("sip.sent", method="REGISTER")``)."""

    def __init__(self, component: str):
        self.component = component
        self._logger = logging.getLogger(f"webims.{component}")

    def _log(self, level: int, event: str, fields: dict[str, Any], exc_info: bool = False) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, exc_info=exc_info,
                             extra={"webims_component": self.component, "webims_fields": masked(fields)})

    def debug(self, event: str, /, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, /, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, /, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, /, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields)

    def exception(self, event: str, /, **fields: Any) -> None:
        """Log at error level with the current exception's traceback."""
        self._log(logging.ERROR, event, fields, exc_info=True)


def get(component: str) -> EventLogger:
    return EventLogger(component)


class _Formatter(logging.Formatter):
    def __init__(self, style: str):
        super().__init__()
        self.style = style

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "component": getattr(record, "webims_component", record.name),
            "event": record.getMessage(),
        }
        fields.update(getattr(record, "webims_fields", {}))
        if record.exc_info:
            fields["traceback"] = self.formatException(record.exc_info)
        if self.style == "json":
            return json.dumps(fields, ensure_ascii=False, default=str)
        return " ".join(f"{key}={_kv_value(value)}" for key, value in fields.items())


def _kv_value(value: Any) -> str:
    text = str(value)
    if text and not any(ch in text for ch in ' "=\n\t'):
        return text
    return json.dumps(text, ensure_ascii=False)


def configure(style: str = "keyvalue", level: str = "info", stream=None) -> None:
    """Send webims' events to ``stream`` (stderr by default) in the configured style."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_Formatter(style))
    root = logging.getLogger("webims")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
