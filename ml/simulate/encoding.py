"""Numeric frames -> Arrow tables with the contract's columns and types.

Ids and hashes are built from integers with a bijective 64-bit mix, so they look random,
never collide, and need no Python string formatting per row.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ml.contract import TABLES, Column
from ml.simulate.frames import Frame
from ml.simulate.timing import NULL_TS
from ml.simulate.vocab import CATEGORIES, COUNTRIES, EMAIL_DOMAINS

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "timestamp": pa.timestamp("us"),
    "boolean": pa.bool_(),
    "amount": pa.decimal128(12, 2),
}

# Columns holding an account id (`acc_000123`).
ACCOUNT_COLUMNS = frozenset({"account_id", "buyer_id", "seller_id", "bidder_id", "reporter_id", "reported_id"})
# Surrogate keys: prefix + 16 hex digits.
ID_PREFIXES: dict[str, str] = {
    "event_id": "lgn_",
    "payment_method_id": "pm_",
    "stream_id": "str_",
    "listing_id": "lst_",
    "bid_id": "bid_",
    "order_id": "ord_",
    "refund_id": "rfd_",
    "chargeback_id": "cbk_",
    "report_id": "rpt_",
    "action_id": "act_",
}
# Upstream-hashed values: 16 hex digits; one namespace per kind of thing hashed.
HASH_NAMESPACES: dict[str, str] = {
    "signup_ip_hash": "ip",
    "ip_hash": "ip",
    "signup_device_id": "device",
    "device_id": "device",
    "card_fingerprint": "card",
    "shipping_address_hash": "address",
}
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "country": COUNTRIES,
    "ip_country": COUNTRIES,
    "card_country": COUNTRIES,
    "email_domain": EMAIL_DOMAINS,
    "category": CATEGORIES,
}

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mix64(values: np.ndarray, salt: int) -> np.ndarray:
    """SplitMix64 finaliser of `values + salt`: a bijection on 64-bit integers."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + np.uint64(salt) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _fixed_width(chars: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    """(n, width) ASCII bytes -> Arrow string array, without per-row Python work."""
    n, width = chars.shape
    offsets = (np.arange(n + 1, dtype=np.int64) * width).astype(np.int32)
    bitmap = None if valid is None else _validity(valid)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars)), bitmap)


def _with_prefix(prefix: str, body: np.ndarray) -> np.ndarray:
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    return np.hstack([np.broadcast_to(head, (len(body), len(head))), body])


def hex_strings(values: np.ndarray, salt: int, prefix: str = "") -> pa.Array:
    """Mixed 64-bit hex strings; negative values become nulls."""
    mixed = mix64(values, salt)
    as_bytes = mixed.astype(">u8").view(np.uint8).reshape(-1, 8)
    nibbles = np.empty((len(values), 16), dtype=np.uint8)
    nibbles[:, 0::2] = _HEX[as_bytes >> 4]
    nibbles[:, 1::2] = _HEX[as_bytes & 15]
    return _fixed_width(_with_prefix(prefix, nibbles), values >= 0)


def decimal_strings(values: np.ndarray, width: int, prefix: str) -> pa.Array:
    """Zero-padded decimal strings (`acc_000123`); negative values become nulls."""
    safe = np.maximum(values, 0).astype(np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = ((safe[:, None] // powers[None, :]) % 10 + ord("0")).astype(np.uint8)
    return _fixed_width(_with_prefix(prefix, digits), values >= 0)


def vocab_strings(codes: np.ndarray, vocab: tuple[str, ...]) -> pa.Array:
    """Codes into `vocab` -> strings; negative codes become nulls."""
    valid = codes >= 0
    taken = pa.array(vocab, pa.string()).take(pa.array(np.where(valid, codes, 0)))
    if valid.all():
        return taken
    return pc.if_else(pa.array(valid), taken, pa.scalar(None, pa.string()))


def _validity(valid: np.ndarray) -> pa.Buffer | None:
    """Arrow validity bitmap, or None when every value is present."""
    return None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))


def timestamps(us: np.ndarray) -> pa.Array:
    """int64 microseconds -> timestamp[us]; NULL_TS becomes null."""
    values = np.ascontiguousarray(us, dtype=np.int64)
    return pa.Array.from_buffers(pa.timestamp("us"), len(values), [_validity(values != NULL_TS), pa.py_buffer(values)])


def amounts(cents: np.ndarray) -> pa.Array:
    """int64 cents -> decimal128(12, 2), built from its 16-byte two's-complement buffer."""
    buf = np.empty((len(cents), 2), dtype=np.int64)
    buf[:, 0] = cents
    buf[:, 1] = cents >> 63  # sign extension into the high word
    return pa.Array.from_buffers(pa.decimal128(12, 2), len(cents), [None, pa.py_buffer(buf)])


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema a landing Parquet file of `table` has."""
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=True) for c in TABLES[table].columns])


@dataclass(frozen=True)
class Encoder:
    """Turns numeric frames into Arrow tables for one simulated world."""

    seed: int
    account_width: int

    def _salt(self, namespace: str) -> int:
        # Seeded so two worlds never share hashes; crc32 (unlike hash()) is stable across runs.
        return zlib.crc32(f"{namespace}:{self.seed}".encode())

    def column(self, column: Column, values: np.ndarray) -> pa.Array:
        name = column.name
        if column.type == "timestamp":
            return timestamps(values)
        if column.type == "amount":
            return amounts(values)
        if column.type == "boolean":
            return pa.array(values, pa.bool_())
        if name in ACCOUNT_COLUMNS:
            return decimal_strings(values, self.account_width, "acc_")
        if name in ID_PREFIXES:
            return hex_strings(values, self._salt(name), ID_PREFIXES[name])
        if name in HASH_NAMESPACES:
            return hex_strings(values, self._salt(HASH_NAMESPACES[name]))
        if column.allowed is not None:
            return vocab_strings(values, column.allowed)
        if name in VOCABULARIES:
            return vocab_strings(values, VOCABULARIES[name])
        raise KeyError(f"no encoding for column {name!r}")

    def table(self, table: str, frame: Frame) -> pa.Table:
        """Contract columns of `frame`, in contract order, with contract types."""
        columns = TABLES[table].columns
        arrays = [self.column(c, frame[c.name]) for c in columns]
        return pa.Table.from_arrays(arrays, schema=arrow_schema(table))
