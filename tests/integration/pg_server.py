"""A throw-away PostgreSQL server for tests: Debian's binaries, run as the ``postgres`` user
(the server refuses root) on a free port of 127.0.0.1, in a temporary folder it owns."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


def binaries() -> str | None:
    """The folder of initdb/pg_ctl, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def skip_reason() -> str | None:
    if binaries() is None:
        return "no PostgreSQL binaries (initdb, pg_ctl) on this machine"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no 'postgres' user to run the server as"
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != "postgres":
        return "needs root (to run the server as 'postgres') or the postgres user"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server() -> Iterator[str]:
    """Start a server, yield its URL (trust authentication), stop and delete it after."""
    bindir = binaries()
    user = pwd.getpwnam("postgres")
    root = tempfile.mkdtemp(prefix="archopt-pg-")
    os.chown(root, user.pw_uid, user.pw_gid)
    data, port = os.path.join(root, "data"), _free_port()

    def as_postgres(*cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=120)

    try:
        as_postgres(f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres")
        as_postgres(f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(root, "log"), "-w",
                    "-t", "60", "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
                    "start")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            as_postgres(f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
