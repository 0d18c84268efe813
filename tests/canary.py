"""Canary secrets: a unique value put in credential variables, then searched for, byte for
byte, in everything a run wrote. A hit is a leak."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path


def new_canary() -> str:
    """A value no file or log can contain by chance (and usable in a URI or as a password)."""
    return f"canary{uuid.uuid4().hex}"


def files_containing(roots: Iterable[Path], secret: str) -> list[Path]:
    """Every file under `roots` (folders or files) whose bytes contain `secret`."""
    needle = secret.encode()
    hits = []
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            if needle in path.read_bytes():
                hits.append(path)
    return hits


def file_count(roots: Iterable[Path]) -> int:
    return sum(1 if r.is_file() else sum(1 for p in r.rglob("*") if p.is_file()) for r in roots)
