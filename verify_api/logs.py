"""Logging for the service: one stderr handler, block-buffered for the per-request access lines.

A plain StreamHandler flushes after every record, which for the access log is one write
system call per request (several percent of a request's cost). This handler lets lines
collect in a 64 KiB buffer and writes them when the buffer fills, when a WARNING or worse
arrives, every second (the app's lifespan calls `drain`), and at shutdown.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

log = logging.getLogger("verify_api")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class BufferedStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    def __init__(self) -> None:
        try:
            fd = os.dup(sys.stderr.fileno())  # the handler owns this stream for the process's life
            stream = open(fd, "w", buffering=1 << 16, encoding="utf-8", errors="replace")  # noqa: SIM115
        except (AttributeError, OSError, ValueError):  # no real stderr (embedded, captured): unbuffered
            stream = sys.stderr
        super().__init__(stream)
        self.setFormatter(logging.Formatter(FORMAT))

    def flush(self) -> None:
        """Called by emit() after every record: deliberately not a write (see drain)."""

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        if record.levelno >= logging.WARNING:
            self.drain()

    def drain(self) -> None:
        with self.lock, contextlib.suppress(OSError, ValueError):  # type: ignore[union-attr]
            self.stream.flush()

    def close(self) -> None:
        self.drain()
        super().close()


def configure() -> BufferedStderrHandler | None:
    """Give the service's loggers a handler unless the host application already set one up."""
    if log.handlers:
        existing = log.handlers[0]
        return existing if isinstance(existing, BufferedStderrHandler) else None
    handler = BufferedStderrHandler()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return handler


def drain() -> None:
    for handler in log.handlers:
        if isinstance(handler, BufferedStderrHandler):
            handler.drain()
