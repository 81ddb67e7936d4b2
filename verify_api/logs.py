"""Logging for the service: one stderr handler, block-buffered for the per-request access lines.

A plain StreamHandler flushes after every record, which for the access log is one write
system call per request (several percent of a request's cost). This handler lets lines
collect in a 64 KiB buffer and writes them when the buffer fills, when a WARNING or worse
arrives, every second (the app's lifespan calls `drain`), and at shutdown.

`access_writer` gives the access log a direct path into that handler (the same line
logging would write, without building a LogRecord per request) whenever nothing else is
configured for it; a host application's own logging configuration is always respected.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable

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


def access_writer(name: str = "verify_api.access") -> Callable[[str], None]:
    """A function writing one access line; decided once, when the app's middleware is built."""
    logger = logging.getLogger(name)
    handlers = log.handlers
    direct = (
        not logger.handlers
        and not logger.filters
        and logger.propagate
        and logger.parent is log
        and logger.isEnabledFor(logging.INFO)
        and len(handlers) == 1
        and type(handlers[0]) is BufferedStderrHandler
        and not handlers[0].filters
        and handlers[0].level <= logging.INFO
    )
    if not direct:
        return lambda line: logger.info("%s", line)
    handler = handlers[0]
    stamp = [-1, ""]  # second, its "%Y-%m-%d %H:%M:%S" text (logging's default asctime, local time)

    def write(line: str) -> None:
        now = time.time()
        second = int(now)
        if second != stamp[0]:
            stamp[0], stamp[1] = second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        text = f"{stamp[1]},{int((now - second) * 1000):03d} INFO {name}: {line}\n"
        with handler.lock, contextlib.suppress(OSError, ValueError):  # type: ignore[union-attr]
            handler.stream.write(text)

    return write
