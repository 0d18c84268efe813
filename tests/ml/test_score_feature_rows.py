"""Feature rows read for scoring: decimals become exactly the floats `float(Decimal)` gives."""

import decimal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ml.score.feature_rows import decimals_as_float64, feature_frame


def _python(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values])


def _decimals(rng: np.random.Generator, n: int, scale: int, bound: int = 10**13) -> list:
    values = [decimal.Decimal(int(x)).scaleb(-scale) for x in rng.integers(-bound, bound, n)]
    return [None if i % 17 == 0 else v for i, v in enumerate(values)]


@pytest.mark.parametrize("scale", [0, 2, 5])
def test_decimals_become_the_nearest_double_as_float_of_decimal_gives(scale):
    values = _decimals(np.random.default_rng(scale), 50_000, scale)
    table = pa.table({"x": pa.array(values, type=pa.decimal128(38, scale))})

    converted = decimals_as_float64(table)

    assert converted.schema.field("x").type == pa.float64()
    np.testing.assert_array_equal(converted["x"].to_numpy(zero_copy_only=False), _python(values))
    assert converted["x"].null_count == sum(v is None for v in values)
    if scale:  # the reason this module exists: Arrow's own cast rounds some of these wrongly
        arrow = pc.cast(table["x"], pa.float64()).to_numpy(zero_copy_only=False)
        assert not np.array_equal(arrow, _python(values), equal_nan=True)


def test_slices_chunks_huge_values_and_wide_decimals_convert_exactly():
    rng = np.random.default_rng(1)
    first, second = _decimals(rng, 1000, 2), _decimals(rng, 1000, 2)
    huge = [decimal.Decimal(2**60 + 7).scaleb(-2), decimal.Decimal(-(2**70)), None]
    chunked = pa.chunked_array(
        [pa.array(first, type=pa.decimal128(38, 2)).slice(3, 500), pa.array(second + huge, type=pa.decimal128(38, 2))]
    )
    wide_values = (first + second)[: len(chunked)]
    wide = pa.array(wide_values, type=pa.decimal256(50, 2))
    table = pa.table({"chunked": chunked, "wide": wide, "keep": np.arange(len(chunked))})

    converted = decimals_as_float64(table)

    expected = _python(first[3:503] + second + huge)
    np.testing.assert_array_equal(converted["chunked"].to_numpy(), expected)
    np.testing.assert_array_equal(converted["wide"].to_numpy(zero_copy_only=False), _python(wide_values))
    assert converted["keep"].equals(table["keep"])


def test_the_warehouses_sums_arrive_as_floats_equal_to_the_slow_conversion():
    con = duckdb.connect()
    con.execute(
        "create table t as select (i % 7)::hugeint as n_total, (i * 1.37 - 500)::decimal(38, 2) as usd,"
        " case when i % 11 = 0 then null else i::hugeint end as maybe, i::float as f, 'a' || i as account_id"
        " from range(20000) as r(i)"
    )
    table = con.sql("select * from t").to_arrow_table()
    before = table.to_pandas()
    assert before["usd"].dtype == object  # Decimal objects: what scoring used to convert one by one

    frame = feature_frame(table)

    for column in ("n_total", "usd", "maybe"):
        assert frame[column].dtype == np.float64
        np.testing.assert_array_equal(frame[column].to_numpy(), before[column].astype("float64").to_numpy())
    assert frame["f"].dtype == np.float32 and frame["account_id"].equals(before["account_id"])
