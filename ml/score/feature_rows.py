"""Feature rows as scoring reads them: Arrow from the warehouse to pandas, decimals as floats.

The mart's sums come back as decimals (DuckDB's HUGEINT and DECIMAL(38, 2) are Arrow decimal128),
which pandas holds as Python `Decimal` objects: converting those to floats one by one cost
scoring twice the model's own prediction time. Here they become float64 in bulk, each value the
double nearest its exact decimal value, i.e. what `float(Decimal)` gives and what scoring always
used. (Arrow's own decimal cast is not correctly rounded: a unit in the last place off for
about one scale-2 value in eight.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

# Integers up to 2^53 are exact doubles; dividing two exact doubles rounds correctly.
_EXACT = 2**53
_MAX_EXACT_POWER_OF_TEN = 22  # 10^22 is the largest power of ten a double holds exactly


def _python_floats(chunk: pa.Array) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in chunk.to_pylist()], dtype=np.float64)


def _decimal_chunk_as_float64(chunk: pa.Array) -> np.ndarray:
    scale = chunk.type.scale
    if not isinstance(chunk.type, pa.Decimal128Type) or not 0 <= scale <= _MAX_EXACT_POWER_OF_TEN:
        return _python_floats(chunk)
    valid = chunk.is_valid().to_numpy(zero_copy_only=False)
    # decimal128: 16-byte little-endian two's-complement unscaled integers.
    words = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[2 * chunk.offset : 2 * (chunk.offset + len(chunk))]
    low, high = words[0::2], words[1::2]
    exact = (high == (low >> 63)) & (low > -_EXACT) & (low < _EXACT)  # fits in 53 bits
    if not (exact | ~valid).all():
        return _python_floats(chunk)  # a rare huge value: the slow exact path
    values = low.astype(np.float64) / 10.0**scale
    values[~valid] = np.nan
    return values


def decimals_as_float64(table: pa.Table) -> pa.Table:
    """`table` with every decimal column as float64 (nulls stay null), correctly rounded."""
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            chunks = [_decimal_chunk_as_float64(chunk) for chunk in table.column(i).chunks]
            floats = np.concatenate(chunks) if chunks else np.empty(0)
            column = pa.array(floats, type=pa.float64(), from_pandas=True)  # NaN -> null, as the decimal was
            table = table.set_column(i, pa.field(field.name, pa.float64(), field.nullable), column)
    return table


def feature_frame(table: pa.Table) -> pd.DataFrame:
    """The rows of a feature query as pandas, decimals as float64: what `score_accounts` takes."""
    return decimals_as_float64(table).to_pandas()
