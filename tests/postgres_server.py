"""A throwaway PostgreSQL server for the tests, started on a free loopback port.

`postgres_server` (session-scoped) runs Debian's `postgresql` binaries (installed by `make
test` where missing): initdb into a temporary folder, start with password (SCRAM) auth on
127.0.0.1 only, stop and delete everything at the end. As root, the server runs as the
`postgres` user (PostgreSQL refuses to run as root). The tests using it skip, saying why, only
when no PostgreSQL can be started here.

Registered in tests/conftest.py (`pytest_plugins`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "postgres"
START_TIMEOUT_SECONDS = 60


def pg_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian layout first), or None."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if debian:
        return debian[-1].parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class PostgresServer:
    bindir: Path
    port: int
    password: str  # the superuser's
    host: str = "127.0.0.1"

    def conninfo(self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None) -> str:
        password = self.password if password is None else password
        return f"host={self.host} port={self.port} dbname={dbname} user={user} password={password}"

    def env(self, dbname: str, user: str, password: str) -> dict[str, str]:
        """libpq's environment variables for a client (what ml.reverse_etl's CLI reads)."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGDATABASE": dbname,
            "PGUSER": user,
            "PGPASSWORD": password,
        }

    def create_database(self, name: str, owner: str, owner_password: str) -> None:
        """A login role and a database it owns (both new)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("create role {} login password {}").format(sql.Identifier(owner), sql.Literal(owner_password))
            )
            conn.execute(sql.SQL("create database {} owner {}").format(sql.Identifier(name), sql.Identifier(owner)))

    def dump(self, dbname: str) -> str:
        """pg_dump of one database as SQL text (schema and data)."""
        done = subprocess.run(
            [str(self.bindir / "pg_dump"), "-h", self.host, "-p", str(self.port), "-U", SUPERUSER, dbname],
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (`make test` installs Debian's postgresql package)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as the postgres user")
    root = Path(tempfile.mkdtemp(prefix="vigil_pg_"))  # not under pytest's 0700 folders: postgres must read it
    data, password_file, log_file = root / "data", root / "superuser_password", root / "server.log"
    password = secrets.token_hex(16)
    password_file.write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(password_file, "postgres")
    port = _free_port()
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--pwfile", str(password_file)]
    initdb += ["--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"]
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' -c fsync=off"
    start = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log_file), "-o", options, "-w"]
    start += ["-t", str(START_TIMEOUT_SECONDS), "start"]
    try:
        for cmd in (initdb, start):
            done = subprocess.run(
                _as_server_user(cmd), capture_output=True, text=True, timeout=START_TIMEOUT_SECONDS + 30
            )
            if done.returncode != 0:
                server_log = log_file.read_text()[-2000:] if log_file.exists() else ""
                shutil.rmtree(root, ignore_errors=True)
                pytest.skip(f"PostgreSQL could not be started here: {done.stderr.strip()[-1500:]} {server_log}")
        yield PostgresServer(bindir=bindir, port=port, password=password)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)
