from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml.contract import TABLES
from ml.ingest.validate import UnreadableFileError, validate_file

NOW = datetime(2026, 10, 1)
ORDER_HEADER = (
    "order_id,buyer_id,seller_id,stream_id,listing_id,created_at,amount_usd,payment_method_id,"
    "shipping_address_hash,status,shipped_at,delivered_at,_loaded_at"
)


def _csv(tmp_path: Path, *rows: str, header: str = ORDER_HEADER) -> Path:
    path = tmp_path / "b.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_malformed_csv_rows_are_quarantined_with_every_reason(tmp_path):
    path = _csv(
        tmp_path,
        "o1,a1,s1,,l1,2026-01-01 10:00:00,12.50,pm1,h1,placed,,,2026-01-01 10:01:00",
        ",a1,s1,,l1,2026-01-01 10:00:00,12.50,pm1,h1,placed,,,2026-01-01 10:01:00",
        "o3,a1,s1,,l1,not-a-date,-3,pm1,h1,lost,,,2026-01-01 10:01:00",
        "o4,a1,s1,st1,l1,2026-03-01 10:00:00,abc,pm1,h1,shipped,,,2026-01-01 10:01:00",
    )
    batch = validate_file(path, TABLES["orders"], "orders/b.csv", NOW)

    assert batch.rows_in_file == 4
    assert batch.valid.column("order_id").to_pylist() == ["o1"]
    assert batch.valid.column("amount_usd").to_pylist() == [Decimal("12.50")]
    reasons = dict(
        zip(
            batch.quarantined.column("source_row").to_pylist(),
            batch.quarantined.column("reason").to_pylist(),
            strict=True,
        )
    )
    assert reasons[2] == "null order_id"
    assert reasons[3] == "unparseable created_at: not-a-date; negative amount_usd; unknown status: lost"
    assert reasons[4] == "created_at after _loaded_at; unparseable amount_usd: abc"
    assert '"created_at":"not-a-date"' in batch.quarantined.column("record_json")[1].as_py()


def test_valid_rows_are_typed_like_the_contract(tmp_path):
    path = _csv(tmp_path, "o1,a1,s1,,l1,2026-01-01T10:00:00.123456,7,pm1,h1,placed,,,2026-01-01 10:01:00")
    batch = validate_file(path, TABLES["orders"], "orders/b.csv", NOW)

    schema = batch.valid.schema
    assert schema.field("created_at").type == pa.timestamp("us")
    assert schema.field("amount_usd").type == pa.decimal128(12, 2)
    assert batch.valid.column("created_at")[0].as_py() == datetime(2026, 1, 1, 10, 0, 0, 123456)
    assert batch.valid.column("stream_id")[0].as_py() is None  # empty text in a nullable column


def test_parquet_from_another_producer_with_loose_types_is_parsed(tmp_path):
    # Another producer: timestamps as text, amounts as floats, booleans as 0/1 integers.
    path = tmp_path / "x.parquet"
    pq.write_table(
        pa.table(
            {
                "event_id": ["e1", "e2"],
                "account_id": ["a1", "a2"],
                "occurred_at": ["2026-02-01 08:00:00", "2026-02-01 09:00:00"],
                "ip_hash": ["i1", "i2"],
                "ip_country": ["US", "GB"],
                "device_id": ["d1", "d2"],
                "success": [1, 7],
                "_loaded_at": ["2026-02-01 08:00:05", "2026-02-01 09:00:05"],
            }
        ),
        path,
    )
    batch = validate_file(path, TABLES["logins"], "logins/x.parquet", NOW)

    assert batch.valid.column("event_id").to_pylist() == ["e1"]
    assert batch.valid.column("success").to_pylist() == [True]
    assert batch.quarantined.column("reason").to_pylist() == ["unparseable success: 7"]


def test_a_missing_column_quarantines_every_row_and_extra_columns_are_reported(tmp_path):
    header = "event_id,account_id,occurred_at,ip_hash,ip_country,success,_loaded_at,browser"
    path = _csv(tmp_path, "e1,a1,2026-02-01 08:00:00,i1,US,true,2026-02-01 08:00:05,firefox", header=header)
    batch = validate_file(path, TABLES["logins"], "logins/b.csv", NOW)

    assert batch.valid.num_rows == 0
    assert batch.missing_columns == ("device_id",)
    assert batch.extra_columns == ("browser",)
    assert "missing column(s): device_id" in batch.quarantined.column("reason")[0].as_py()


def test_rows_loaded_in_the_future_are_quarantined(tmp_path):
    path = _csv(tmp_path, "o1,a1,s1,,l1,2026-12-01 10:00:00,1,pm1,h1,placed,,,2026-12-01 10:01:00")
    batch = validate_file(path, TABLES["orders"], "orders/b.csv", NOW)

    assert batch.valid.num_rows == 0
    assert batch.quarantined.column("reason")[0].as_py() == "_loaded_at in the future"


def test_an_unreadable_file_raises_a_clear_error(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"definitely not parquet")
    with pytest.raises(UnreadableFileError, match="cannot read orders/broken.parquet"):
        validate_file(path, TABLES["orders"], "orders/broken.parquet", NOW)


def _order_row(created_at: str = "2026-01-01 10:00:00", loaded_at: str = "2026-01-01 10:01:00") -> str:
    return f"o1,a1,s1,,l1,{created_at},12.50,pm1,h1,placed,,,{loaded_at}"


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2026-01-01T10:00:00+02:00", datetime(2026, 1, 1, 8)),
        ("2026-01-01T10:00:00Z", datetime(2026, 1, 1, 10)),
        ("2026-01-01 10:00:00.5-05:30", datetime(2026, 1, 1, 15, 30, 0, 500000)),
        ("2026-01-01 10:00:00", datetime(2026, 1, 1, 10)),  # naive values are UTC, as before
    ],
)
def test_timestamps_with_a_utc_offset_are_converted_to_utc(tmp_path, created_at, expected):
    path = _csv(tmp_path, _order_row(created_at=created_at, loaded_at="2026-01-01T18:00:00+02:00"))
    batch = validate_file(path, TABLES["orders"], "orders/b.csv", NOW)

    assert batch.quarantined.num_rows == 0
    assert batch.valid.column("created_at").to_pylist() == [expected]
    assert batch.valid.column("_loaded_at").to_pylist() == [datetime(2026, 1, 1, 16)]


def test_an_offset_is_honoured_when_checking_for_events_after_their_load(tmp_path):
    # 10:30 at UTC-05:00 is 15:30 UTC, after the row was loaded at 11:00 UTC.
    path = _csv(tmp_path, _order_row(created_at="2026-01-01T10:30:00-05:00", loaded_at="2026-01-01 11:00:00"))
    batch = validate_file(path, TABLES["orders"], "orders/b.csv", NOW)

    assert batch.quarantined.column("reason").to_pylist() == ["created_at after _loaded_at"]


def test_typed_parquet_timestamps_with_a_time_zone_are_converted_to_utc(tmp_path):
    path = tmp_path / "x.parquet"
    paris = pa.array([datetime(2026, 2, 1, 8)], pa.timestamp("us", tz="UTC")).cast(
        pa.timestamp("us", tz="Europe/Paris")
    )
    pq.write_table(
        pa.table(
            {
                "event_id": ["e1"],
                "account_id": ["a1"],
                "occurred_at": paris,
                "ip_hash": ["i1"],
                "ip_country": ["FR"],
                "device_id": ["d1"],
                "success": [True],
                "_loaded_at": pa.array([datetime(2026, 2, 1, 8, 0, 5)], pa.timestamp("ns")),
            }
        ),
        path,
    )
    batch = validate_file(path, TABLES["logins"], "logins/x.parquet", NOW)

    assert batch.valid.column("occurred_at").to_pylist() == [datetime(2026, 2, 1, 8)]
    assert batch.valid.column("_loaded_at").to_pylist() == [datetime(2026, 2, 1, 8, 0, 5)]


@pytest.mark.parametrize("value", ["infinity", "-infinity", "1000-01-01 (BC)", "12026-01-01"])
def test_timestamps_outside_the_range_every_engine_holds_are_unparseable(tmp_path, value):
    path = _csv(tmp_path, _order_row(created_at=value))
    batch = validate_file(path, TABLES["orders"], "orders/b.csv", NOW)

    assert batch.valid.num_rows == 0
    assert batch.quarantined.column("reason")[0].as_py().startswith(f"unparseable created_at: {value}")


def test_upper_case_headers_match_the_contract_case_insensitively(tmp_path):
    path = _csv(tmp_path, _order_row(), header=ORDER_HEADER.upper())
    batch = validate_file(path, TABLES["orders"], "orders/b.csv", NOW)

    assert (batch.valid.num_rows, batch.missing_columns, batch.extra_columns) == (1, (), ())
    assert batch.valid.column_names[:2] == ["order_id", "buyer_id"]


def test_a_utf8_bom_does_not_corrupt_the_first_column_name(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (ORDER_HEADER + "\n" + _order_row() + "\n").encode())
    batch = validate_file(path, TABLES["orders"], "orders/bom.csv", NOW)

    assert (batch.valid.num_rows, batch.missing_columns, batch.extra_columns) == (1, (), ())
    assert batch.valid.column("order_id").to_pylist() == ["o1"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (ORDER_HEADER + ",ORDER_ID", "duplicate column name(s) (compared case-insensitively): order_id"),
        (ORDER_HEADER + ",note,Note", "duplicate column name(s) (compared case-insensitively): note"),
    ],
)
def test_a_file_whose_headers_collide_after_case_folding_is_rejected(tmp_path, header, message):
    path = _csv(tmp_path, _order_row() + ",o9" + (",x" if "note" in header else ""), header=header)

    with pytest.raises(UnreadableFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_file(path, TABLES["orders"], "orders/b.csv", NOW)


def test_a_file_name_is_read_literally_not_as_a_pattern(tmp_path):
    (tmp_path / "y1.csv").write_text(ORDER_HEADER + "\n" + _order_row() + "\n" + _order_row() + "\n")
    path = _csv(tmp_path, _order_row())
    literal = path.rename(tmp_path / "y[1].csv")

    batch = validate_file(literal, TABLES["orders"], "orders/y[1].csv", NOW)

    assert batch.rows_in_file == 1


def test_a_csv_whose_last_row_has_no_line_break_is_rejected_as_possibly_truncated(tmp_path):
    # Cut mid-value, `12.50` became `12`: a valid-looking row with the wrong amount.
    path = tmp_path / "cut.csv"
    path.write_text(ORDER_HEADER + "\n" + "o1,a1,s1,,l1,2026-01-01 10:00:00,12,pm1,h1,placed,,,2026-01-01 10:01:00")

    with pytest.raises(UnreadableFileError, match="incomplete CSV: the last row does not end with a line break"):
        validate_file(path, TABLES["orders"], "orders/cut.csv", NOW)
