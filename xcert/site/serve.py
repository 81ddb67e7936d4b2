"""Serve a built site locally the way production serves it: the pre-compressed copies.

``python -m xcert.site.serve [--bind ADDR] [--directory DIR] [PORT]`` is
``python -m http.server`` that answers with `x.br` or `x.gz` (written by
`xcert.site.compress`) when the browser accepts that encoding, with the original file's
type and ``Vary: Accept-Encoding``. For `run.sh`, the browser tests and bench/site_ux.py;
a deployment uses its own web server's equivalent (nginx `gzip_static`).
"""

from __future__ import annotations

import argparse
import email.utils
import functools
import http.server
import os
import sys
from collections.abc import Iterable
from typing import Any

ENCODINGS = (("br", ".br"), ("gzip", ".gz"))  # preferred first


def accepted(header: str) -> set[str]:
    """Content codings an Accept-Encoding header allows (q=0 refuses one)."""
    out = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name and q > 0:
            out.add(name.strip().lower())
    return out


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".json": "application/json",
        ".csv": "text/csv; charset=utf-8",
        ".md": "text/markdown; charset=utf-8",
        ".html": "text/html; charset=utf-8",
    }

    def send_head(self) -> Any:
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            if not self.path.split("?", 1)[0].split("#", 1)[0].endswith("/"):
                return super().send_head()  # the redirect to the slash URL
            path = os.path.join(path, "index.html")
        if not os.path.isfile(path):
            return super().send_head()
        codings = accepted(self.headers.get("Accept-Encoding", ""))
        for coding, suffix in ENCODINGS:
            if coding in codings and os.path.isfile(path + suffix):
                return self._send_encoded(path, path + suffix, coding)
        return super().send_head()

    def _send_encoded(self, original: str, encoded: str, coding: str) -> Any:
        f = open(encoded, "rb")  # noqa: SIM115 - closed by the base class after copying
        try:
            size = os.fstat(f.fileno()).st_size
            modified = os.stat(original).st_mtime
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(original))
            self.send_header("Content-Encoding", coding)
            self.send_header("Content-Length", str(size))
            self.send_header("Vary", "Accept-Encoding")
            self.send_header("Last-Modified", email.utils.formatdate(modified, usegmt=True))
            self.end_headers()
        except BaseException:
            f.close()
            raise
        return f

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")  # a local build changes under it
        super().end_headers()


class _Quiet(Handler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def server(directory: str, bind: str = "127.0.0.1", port: int = 0, quiet: bool = False) -> Any:
    """A threading HTTP server for `directory` (port 0: any free port); call serve_forever."""
    handler = functools.partial(_Quiet if quiet else Handler, directory=directory)
    return http.server.ThreadingHTTPServer((bind, port), handler)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xcert.site.serve", description="Serve a built site with its .br/.gz copies."
    )
    parser.add_argument("port", nargs="?", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--bind", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--directory", default="site", help="the built site (default ./site)")
    args = parser.parse_args(None if argv is None else list(argv))
    httpd = server(args.directory, args.bind, args.port)
    print(f"serving {args.directory} on http://{args.bind}:{httpd.server_port}/", file=sys.stderr)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
