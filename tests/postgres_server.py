"""A real PostgreSQL server for the tests and the benchmark: initdb into a temporary folder, then
postgres on a free loopback port, with a password (scram-sha-256) as a shared server would ask.

The binaries are Debian's (``apt-get install postgresql``: /usr/lib/postgresql/VERSION/bin), or
whatever initdb and pg_ctl are on PATH. postgres refuses to run as root, and CI runs as root: then
the server runs as the ``postgres`` user (which Debian's package creates), in a folder it owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator, List, Optional

PASSWORD = "s3cret-pw"  # what the tests look for in every output: it must never appear
USER = "postgres"


class Unavailable(Exception):
    """No PostgreSQL server can be started here; the message says why."""


def bindir() -> Path:
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(os.path.realpath(on_path)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise Unavailable("no PostgreSQL binaries (initdb, pg_ctl): apt-get install postgresql")
    return Path(found[-1]).parent


class Server:
    def __init__(self, bindir: Path, folder: Path, port: int, runas: List[str]) -> None:
        self.bindir, self.folder, self.port, self._runas = bindir, folder, port, runas
        self._databases = 0

    def url(self, database: str = "postgres", password: Optional[str] = PASSWORD) -> str:
        login = USER if password is None else f"{USER}:{password}"
        return f"postgresql://{login}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh empty database's URL."""
        import psycopg

        self._databases += 1
        name = f"t{os.getpid()}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            [*self._runas, str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop"],
            capture_output=True, check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(durable: bool = False) -> Server:
    """A running server; ``durable`` False turns fsync off (tests), True keeps PostgreSQL's
    defaults (the benchmark)."""
    binaries = bindir()
    as_root = os.geteuid() == 0
    # As root the server's user must reach the folder: /tmp, whatever TMPDIR says (/root is closed).
    folder = Path(tempfile.mkdtemp(prefix="junit-flaky-pg-", dir="/tmp" if as_root else None))
    runas: List[str] = []
    if as_root:
        try:
            owner = pwd.getpwnam(USER)
        except KeyError:
            raise Unavailable(f"running as root and there is no {USER!r} user to run the server as") from None
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        # runuser lives in /usr/sbin, which a root shell's PATH may lack (env -i, some CI images).
        runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
        if runuser is None:
            raise Unavailable("running as root and there is no runuser to start the server as another user")
        runas = [runuser, "-u", USER, "--"]
    (folder / "password").write_text(PASSWORD + "\n")
    if runas:
        os.chown(folder / "password", pwd.getpwnam(USER).pw_uid, -1)
    def run(*args: str) -> None:
        done = subprocess.run([*runas, *args], capture_output=True, text=True, cwd=folder, check=False)
        if done.returncode != 0:
            raise Unavailable(f"{Path(args[0]).name} failed: {(done.stderr or done.stdout).strip()[-500:]}")

    run(str(binaries / "initdb"), "-D", str(folder / "data"), "-U", USER, "--auth=scram-sha-256",
        f"--pwfile={folder / 'password'}", "-E", "UTF8", "--locale=C")
    port = _free_port()
    settings = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c max_connections=200"
    if not durable:
        settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    run(str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-w", "-t", "60", "-o", settings, "start")
    return Server(binaries, folder, port, runas)


@contextlib.contextmanager
def running(durable: bool = False) -> Iterator[Server]:
    server = start(durable)
    try:
        yield server
    finally:
        server.stop()
