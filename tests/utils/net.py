"""Ports on 127.0.0.1 for the servers a test starts, and serving one in a thread."""

from __future__ import annotations

import socket
import threading
from http.server import ThreadingHTTPServer
from typing import TypeVar


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_Served = TypeVar("_Served", bound="ServedInThread")


class ServedInThread:
    """A test server (``self.server``, set by the subclass) served in a daemon thread for the length
    of a ``with`` block."""

    server: ThreadingHTTPServer

    def __enter__(self: _Served) -> _Served:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
