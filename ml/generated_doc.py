"""Markdown pages generated from code or yml, kept in step by a `--check` mode (run by tests)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def display(path: Path) -> str:
    """The path relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def table_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def write_or_check(
    argv: Sequence[str] | None, *, prog: str, output: Path, sources: str, render: Callable[[], str]
) -> int:
    """Write `output` from `render()`, or with `--check` return 1 when the file on disk differs."""
    parser = argparse.ArgumentParser(prog=f"python -m {prog}", description=f"Render {display(output)} from {sources}.")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the file on disk is not what would be generated"
    )
    args = parser.parse_args(argv)
    expected = render()
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if current != expected:
            state = "is missing" if current is None else "is out of date"
            log.error(
                "%s %s: it does not match %s. Run `uv run python -m %s` and commit the result.",
                display(output),
                state,
                sources,
                prog,
            )
            return 1
        log.info("%s is up to date.", display(output))
        return 0
    output.write_text(expected, encoding="utf-8")
    log.info("Wrote %s.", display(output))
    return 0
