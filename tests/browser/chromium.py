"""Headless Chromium (Debian's `chromium` package) for the browser tests: find it, or install it
where we may (root with apt-get, as in CI: `make test` runs `make chromium` first), else skip.

Every call starts a fresh browser with its own profile and everything that phones home off, so
a page that fetched an external asset would render without it (and the tests would see that).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"  # gitignored; CI keeps it
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # containers run as root, where the sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
LAPTOP = (1366, 768)


def find_or_install() -> str:
    """The chromium binary; installs Debian's package when missing and we are root with apt-get,
    else skips the calling test with the reason."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                pytest.skip(f"chromium is missing and `{' '.join(command)}` failed: {done.stderr[-500:]}")
        found = shutil.which("chromium")
        if found:
            return found
    pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get): `make chromium`")


def _run(binary: str, url: str, extra: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="vigil-chromium-") as profile:
        command = [binary, *FLAGS, f"--user-data-dir={profile}", *extra, url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited with {done.returncode}: {done.stderr[-2000:]}")
    return done


def dump_dom(binary: str, url: str, wait_ms: int = 0, timeout: float = 120) -> str:
    """The DOM after the page loaded (and ran for `wait_ms` of virtual time), as HTML."""
    extra = ["--dump-dom", *([f"--virtual-time-budget={wait_ms}"] if wait_ms else [])]
    return _run(binary, url, extra, timeout).stdout


def screenshot(
    binary: str,
    url: str,
    path: Path,
    size: tuple[int, int] = LAPTOP,
    wait_ms: int = 0,
    timeout: float = 120,
    extra: list[str] | None = None,
) -> Path:
    """A PNG of the first screen of the page at `size` (a laptop's by default)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = [f"--screenshot={path}", f"--window-size={size[0]},{size[1]}", *(extra or [])]
    flags += [f"--virtual-time-budget={wait_ms}"] if wait_ms else []
    _run(binary, url, flags, timeout)
    if not path.is_file():
        raise RuntimeError(f"chromium wrote no screenshot at {path}")
    return path


class Element:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element | str] = []

    def text(self) -> str:
        return " ".join(" ".join((c if isinstance(c, str) else c.text()).split()) for c in self.children if c).strip()

    def iter(self, tag: str | None = None, **attrs: str):
        """Descendants with this tag (any when None) whose attributes contain `attrs` (a class
        matches when it is one of the element's classes)."""
        for child in self.children:
            if isinstance(child, Element):
                if (tag is None or child.tag == tag) and all(child._has(k, v) for k, v in attrs.items()):
                    yield child
                yield from child.iter(tag, **attrs)

    def first(self, tag: str | None = None, **attrs: str) -> Element:
        found = next(self.iter(tag, **attrs), None)
        if found is None:
            raise AssertionError(f"no <{tag or '*'} {attrs}> in <{self.tag} {self.attrs}>")
        return found

    def _has(self, name: str, value: str) -> bool:
        name = name.rstrip("_").replace("_", "-")
        if name == "class":
            return value in self.attrs.get("class", "").split()
        return self.attrs.get(name) == value


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Element("#document", {}, None)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_endtag(self, tag):
        node = self.current
        while node.parent is not None and node.tag != tag:
            node = node.parent
        if node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str) -> Element:
    """The element tree of a DOM Chromium dumped (already well-formed: closed tags, no errors)."""
    tree = _Tree()
    tree.feed(html)
    tree.close()
    return tree.root
