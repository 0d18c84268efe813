"""What an ingestion run may do: schemas, size cap, settle interval, memory, retries."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ml import settings

# A file whose attempts died (process killed) or failed this many times is rejected as poison.
MAX_ATTEMPTS = 2


@dataclass(frozen=True)
class IngestOptions:
    raw_schema: str = "raw"
    ingest_schema: str = "ingest"
    settle_seconds: float = settings.DEFAULT_INGEST_SETTLE_SECONDS
    max_file_bytes: int = settings.DEFAULT_INGEST_MAX_FILE_BYTES
    memory_limit: str = settings.DEFAULT_INGEST_MEMORY_LIMIT
    max_attempts: int = MAX_ATTEMPTS
    # Wait (once, up to `settle_seconds`) for files modified within the interval before
    # deferring them. A near-real-time batch does not: it defers them at once, and the next
    # batch, minutes sooner than a wait would cost every batch, takes them.
    wait_for_recent: bool = True
    # Wall clock and sleep for the settle interval (injectable in tests). The run's logical
    # `now`, which bounds `_loaded_at`, is separate: it may be any date in a backfill or test.
    clock: Callable[[], float] = field(default=time.time, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    @classmethod
    def from_env(cls) -> IngestOptions:
        """The options the environment sets (README, Configuration), read when called."""
        return cls(
            raw_schema=settings.raw_schema(),
            ingest_schema=settings.ingest_schema(),
            settle_seconds=settings.ingest_settle_seconds(),
            max_file_bytes=settings.ingest_max_file_bytes(),
            memory_limit=settings.ingest_memory_limit(),
        )
