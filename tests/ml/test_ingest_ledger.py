"""The rule that decides what to do with a landing file, from its ledger rows and its hash."""

from datetime import datetime

import pytest

from ml.ingest.ledger import LedgerEntry, Verdict, seen_unchanged, verdict

MTIME = datetime(2026, 3, 1, 12, 0, 0, 123456)


def _entry(status: str, sha: str | None = "aaa", size: int = 100, mtime: datetime | None = MTIME) -> LedgerEntry:
    return LedgerEntry(status, size, mtime, sha)


def test_a_file_with_a_finished_rows_size_and_mtime_is_not_read_again():
    assert seen_unchanged([_entry("loaded")], 100, MTIME)
    assert seen_unchanged([_entry("rejected")], 100, MTIME)


@pytest.mark.parametrize(
    ("entry", "size", "mtime"),
    [
        (_entry("loaded"), 101, MTIME),  # grew
        (_entry("loaded"), 100, datetime(2026, 3, 1, 12, 0, 1)),  # touched or rewritten
        (_entry("started"), 100, MTIME),  # an unfinished load is never "seen"
        (_entry("rejected", sha=None), 100, MTIME),  # rejected unread (size cap): the cap may have changed
    ],
)
def test_a_file_that_may_differ_from_its_ledger_rows_is_read_and_hashed(entry, size, mtime):
    assert not seen_unchanged([entry], size, mtime)


def test_rows_from_before_the_ledger_held_mtimes_match_loaded_files_on_size_as_they_used_to():
    legacy = _entry("loaded", sha=None, mtime=None)
    assert seen_unchanged([legacy], 100, MTIME)
    assert not seen_unchanged([legacy], 99, MTIME)


@pytest.mark.parametrize(
    ("entries", "sha", "expected"),
    [
        ([], "aaa", Verdict.INGEST),
        ([_entry("loaded")], "aaa", Verdict.ALREADY_LOADED),
        ([_entry("loaded")], "bbb", Verdict.CHANGED_AFTER_LOAD),
        ([_entry("loaded"), _entry("rejected", sha="bbb")], "bbb", Verdict.ALREADY_REJECTED),
        ([_entry("loaded"), _entry("rejected", sha="bbb")], "ccc", Verdict.CHANGED_AFTER_LOAD),
        ([_entry("loaded"), _entry("rejected", sha="bbb")], "aaa", Verdict.ALREADY_LOADED),
        ([_entry("rejected")], "aaa", Verdict.ALREADY_REJECTED),
        ([_entry("rejected")], "bbb", Verdict.INGEST),  # a rejected file that changed is retried
        ([_entry("rejected", sha=None)], "aaa", Verdict.INGEST),  # was over the cap, now read
        ([_entry("started")], "aaa", Verdict.INGEST),  # an interrupted load is redone
    ],
)
def test_the_verdict_follows_the_content_of_the_file(entries, sha, expected):
    assert verdict(entries, sha) is expected
