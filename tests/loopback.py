"""Raw TCP servers on loopback, for what pytest-httpserver cannot do: answer slowly, never,
garbage, or hang up; and a port where nothing listens."""

from __future__ import annotations

import socket
import threading
from typing import Callable, Iterator, List, Tuple

import pytest

# Talks on one accepted connection, whose request has been read; ``stop`` is set at teardown.
Answer = Callable[[socket.socket, threading.Event], None]


def closed_port() -> int:
    """A loopback port nobody listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def raw_server() -> Iterator[Callable[..., str]]:
    """``raw_server(answer)``: a server that reads each connection's request, then lets ``answer``
    talk (an OSError, the client hanging up, ends that connection). Returns the URL, listening
    already; every server stops at teardown."""
    servers: List[Tuple[socket.socket, threading.Event]] = []

    def start(answer: Answer) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # here, not in the thread: a client may connect before the thread runs
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return
                with conn:
                    try:
                        conn.recv(1 << 20)
                        answer(conn, stop)
                    except OSError:
                        pass

        threading.Thread(target=serve, daemon=True).start()
        servers.append((sock, stop))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/upload"

    yield start
    for sock, stop in servers:
        stop.set()
        sock.close()


def drip(conn: socket.socket, stop: threading.Event) -> None:
    """Headers at once, then a byte of the body every 0.2 s until teardown: every read is quick,
    so only a deadline on the whole answer ends it."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    while not stop.wait(0.2):
        conn.sendall(b" ")
