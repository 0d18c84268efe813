"""Reason codes: one truthful reason per model feature, and the top-k pick per account."""

import dataclasses
import math
import re
import string

import numpy as np
import pandas as pd
import pytest
import yaml

from ml.features.catalog import DBT_PROJECT_DIR, DEFAULT_MODELS_YML
from ml.score.reasons import (
    CONTEXT_ONLY,
    DEFAULT_OUTPUT,
    DERIVED,
    EXAMPLE_ROW,
    VOCABULARY,
    Reason,
    RiskyWhen,
    _format_value,
    main,
    reason_codes_for,
    reason_text,
    render_reason_codes,
    validate_vocabulary,
)
from ml.train.dataset import model_feature_columns

FEATURES = model_feature_columns(DEFAULT_MODELS_YML)
NAN_WORDS = re.compile(r"\b(?:nan|inf)\b", flags=re.I)


def _templates(reason: Reason) -> list[str]:
    return [t for t in (reason.template, reason.if_false, reason.if_missing) if t is not None]


# --- vocabulary ---------------------------------------------------------------------------------


def test_vocabulary_covers_exactly_the_model_features():
    assert len(FEATURES) >= 80
    assert sorted(VOCABULARY) == sorted(FEATURES)
    validate_vocabulary(FEATURES)


def test_every_boolean_feature_has_a_text_for_false():
    units = {
        c["name"]: c["config"]["meta"]["unit"]
        for m in yaml.safe_load(DEFAULT_MODELS_YML.read_text())["models"]
        if m["name"] == "fct_account_features_daily"
        for c in m["columns"]
    }
    booleans = [f for f in FEATURES if units[f] == "boolean"]
    assert booleans, "expected boolean features"
    assert [f for f in booleans if VOCABULARY[f].if_false is None] == []


def test_features_sharing_a_code_still_read_differently():
    by_code: dict[str, list[str]] = {}
    for feature, reason in VOCABULARY.items():
        by_code.setdefault(reason.code, []).append(feature)
    shared = {code: members for code, members in by_code.items() if len(members) > 1}
    assert "CARD_VELOCITY" in shared
    for code, members in shared.items():
        texts = [reason_text(f, EXAMPLE_ROW) for f in members]
        assert len(set(texts)) == len(texts), f"{code}: identical texts {texts}"


def test_no_text_claims_a_value_is_high_or_uses_window_jargon():
    # A feature can push the score up because its value is low: texts state values, not judgements.
    for feature, reason in VOCABULARY.items():
        for template in _templates(reason):
            literal = re.sub(r"\{[^}]*\}", "", template)
            assert not re.search(r"\b(?:high|higher|many|few|low)\b", literal, flags=re.I), (feature, template)
            assert not re.search(r"\b\d+d\b|share_0_1|_", literal), (feature, template)


def test_thresholds_in_texts_are_the_dbt_vars():
    dbt_vars = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    assert f"${dbt_vars['high_value_order_usd']} or more" in VOCABULARY["high_value_orders_7d"].template
    assert f"under ${dbt_vars['small_order_usd']} " in VOCABULARY["small_orders_30d"].template
    for feature in ("orders_due_for_shipping", "overdue_shipping_share"):
        assert f"{dbt_vars['ship_sla_days']}-day shipping deadline" in VOCABULARY[feature].template


def _broken(feature: str, **changes: str | None) -> dict[str, Reason]:
    return {**VOCABULARY, feature: dataclasses.replace(VOCABULARY[feature], **changes)}


@pytest.mark.parametrize(
    ("vocabulary", "message"),
    [
        ({f: r for f, r in VOCABULARY.items() if f != "linked_by_ip"}, "features without a reason: ['linked_by_ip']"),
        ({**VOCABULARY, "not_a_feature": Reason("X", "x")}, "not model features: ['not_a_feature']"),
        (_broken("cards_added_1d", template="{cards_added_1dd:.0f} cards"), "unknown name 'cards_added_1dd'"),
        (_broken("cards_added_1d", template="{cards_added_1d:.0q} cards"), "fails on the example row"),
        (_broken("cards_added_1d", template="{cards_added_1d cards"), "does not parse"),
        (_broken("cards_added_1d", template="{cards_added_1d!r} cards"), "conversions"),
        (_broken("cards_added_1d", code="card-velocity"), "UPPER_SNAKE_CASE"),
        (_broken("is_seller", if_missing=None), "needs an if_missing text"),
        (_broken("linked_by_ip", template="x" * 121), "121 characters"),
        (_broken("account_age_days", risky_when=RiskyWhen(above=90, below=30)), "risky_when holds for no value"),
    ],
)
def test_a_broken_vocabulary_is_reported(vocabulary, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_vocabulary(FEATURES, vocabulary)


# --- texts --------------------------------------------------------------------------------------


def test_texts_carry_the_accounts_values():
    row = {**EXAMPLE_ROW, "cards_added_1d": 3, "linked_by_card": 5, "cards_on_file": 4, "prepaid_card_share": 0.5}
    assert reason_text("cards_added_1d", row) == "3 cards added in the last day"
    assert reason_text("prepaid_card_share", row) == "50% of the 4 cards ever added are prepaid"
    assert reason_text("spend_usd_7d", {"spend_usd_7d": 1234.4}) == "$1,234 in orders placed in the last 7 days"
    assert reason_text("linked_by_device", {"linked_by_device": 1}) == "Shares a device with 1 other account"


def test_low_values_and_false_booleans_are_described_as_they_are():
    assert reason_text("account_age_days", {"account_age_days": 3}) == "Account is 3 days old"
    assert reason_text("active_days_30d", {"active_days_30d": 1}) == "Active on 1 day of the last 30"
    assert reason_text("is_phone_verified", {"is_phone_verified": 0.0}) == "Phone number not verified"
    assert reason_text("is_phone_verified", {"is_phone_verified": 1.0}) == "Phone number verified"
    assert reason_text("has_disposable_email_domain", {"has_disposable_email_domain": True}) == (
        "Email on a disposable domain"
    )


def test_unknown_values_never_print_nan():
    assert reason_text("prepaid_card_share", {"prepaid_card_share": math.nan}) == "No card added to the account"
    assert reason_text("is_phone_verified", {}) == "Phone verification status unknown"
    text = reason_text("refund_rate_as_seller_30d", {"refund_rate_as_seller_30d": 0.5, "orders_sold_30d": math.nan})
    assert text == "An unknown number of refunds on sales vs an unknown number of orders sold in the last 30 days"
    all_unknown = dict.fromkeys(FEATURES, math.nan)
    for feature in FEATURES:
        assert not NAN_WORDS.search(reason_text(feature, all_unknown)), feature


# --- never a zero or a neutral value -----------------------------------------------------------

# A zero quoted as a quantity: "0 cards", "0%", "$0", "0.0 times".
QUOTED_ZERO = re.compile(r"(?<![\d.,])(?:\$0|0(?:\.0+)?%?)(?![\d.,]*\d)")
PROBES = (0.0, 1.0, 0.3, 0.95, 2.0, 6.5, 80.0, 100.0, 1500.0, math.nan)


def _backgrounds() -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(10)
    rows = {
        "all zero": dict.fromkeys(FEATURES, 0.0),
        "all one": dict.fromkeys(FEATURES, 1.0),
        "all unknown": dict.fromkeys(FEATURES, math.nan),
        "example": {f: float(EXAMPLE_ROW[f]) for f in FEATURES},
    }
    for i in range(20):  # mostly zeros, some unknown, some counts and shares: what real rows look like
        draw = rng.choice(PROBES, size=len(FEATURES), p=[0.4, 0.1, 0.05, 0.05, 0.1, 0.05, 0.05, 0.05, 0.05, 0.1])
        rows[f"random {i}"] = dict(zip(FEATURES, draw.tolist(), strict=True))
    return rows


def _only_reasons(cases: list[tuple[str, dict[str, float]]]) -> list[tuple[str | None, str | None]]:
    """The first reason of each (feature, row): an account whose only positive contribution is
    that feature's."""
    contributions = pd.DataFrame([[1.0 if f == feature else -1.0 for f in FEATURES] for feature, _ in cases])
    values = pd.DataFrame([row for _, row in cases], columns=FEATURES)
    result = reason_codes_for(contributions.set_axis(FEATURES, axis=1), values, k=1)
    return list(zip(result["reason_code_1"], result["reason_text_1"], strict=True))


def _only_reason(feature: str, row: dict[str, float]) -> tuple[str | None, str | None]:
    return _only_reasons([(feature, row)])[0]


def test_no_reason_quotes_a_zero_or_a_neutral_value():
    """Over the whole vocabulary: whatever the account's other values, a feature is quoted only
    at a risky value, and its text then holds no zero (but its own, where zero is the riskiest
    value, as an account 0 days old) and no unknown."""
    quoted = 0
    for label, background in _backgrounds().items():
        cases = [(feature, {**background, feature: probe}) for feature in FEATURES for probe in PROBES]
        for (feature, row), (code, text) in zip(cases, _only_reasons(cases), strict=True):
            risky = _risky(VOCABULARY[feature].risky_when, row[feature])
            if not risky or any(v == 0 or not math.isfinite(v) for v in _quoted_values(feature, row)):
                assert code is None, (label, feature, row[feature], text)
                continue
            assert code == VOCABULARY[feature].code, (label, feature, row[feature])
            quoted += 1
            own_zero_is_risky = _risky(VOCABULARY[feature].risky_when, 0.0)
            assert own_zero_is_risky or not QUOTED_ZERO.search(text), (label, feature, row[feature], text)
            assert "unknown" not in text.lower(), (label, feature, row[feature], text)
    assert quoted > 1000  # the rows above do quote reasons: the checks ran


def test_the_pattern_finds_quoted_zeros():
    for text in ("0 cards added", "Shares a card with 0 other accounts", "0% of 5 orders", "$0 in orders", "0.0 times"):
        assert QUOTED_ZERO.search(text), text
    for text in ("10 cards", "$1,250 in orders", "1.0 times", "40 days", "Phone number not verified", "2.05 times"):
        assert not QUOTED_ZERO.search(text), text


@pytest.mark.parametrize(
    ("feature", "neutral"),
    [
        ("account_age_days", 548.0),  # an old account
        ("seller_tenure_days", 400.0),
        ("is_phone_verified", 1.0),
        ("is_seller", 1.0),
        ("cards_on_file", 1.0),
        ("distinct_devices_7d", 1.0),
        ("linked_group_size", 1.0),  # a group of the account alone
        ("spend_7d_vs_baseline", 0.8),  # below the usual rate
        ("spend_7d_vs_baseline", 2.5),  # a normal week's swing
        ("refund_rate_as_seller_30d", 0.1),  # honest sellers refund some orders
        ("lots_lost_share_30d", 1.0),  # most bidders lose most lots
        ("avg_ship_delay_hours_30d", 45.0),  # shipped within two days
        ("top_seller_bid_share_30d", 0.3),
        ("bids_per_stream_30d", 1.0),
        ("orders_sold_30d", 17.0),  # sales volume: what honest sellers have most of
        ("reinstatements_received_total", 1.0),
    ],
)
def test_neutral_values_are_never_quoted(feature, neutral):
    assert _only_reason(feature, {**EXAMPLE_ROW, feature: neutral}) == (None, None)


def test_every_quotable_reason_is_quoted_on_the_example_row():
    """REASON_CODES.md shows each text on the example row: it must be a text scoring would give."""
    for feature in FEATURES:
        code, text = _only_reason(feature, {f: float(EXAMPLE_ROW[f]) for f in FEATURES})
        if VOCABULARY[feature].risky_when == CONTEXT_ONLY:
            assert code is None, feature
        else:
            assert (code, text) == (VOCABULARY[feature].code, reason_text(feature, EXAMPLE_ROW)), feature


def test_a_spike_from_nothing_is_quoted_but_not_one_of_nothing():
    row = {**EXAMPLE_ROW, "spend_7d_vs_baseline": math.nan}
    assert _only_reason("spend_7d_vs_baseline", row) == (
        "SPEND_SPIKE",
        "$2,350 in orders in the last 7 days, none in the 83 days before",
    )
    assert _only_reason("spend_7d_vs_baseline", {**row, "spend_usd_7d": 0.0}) == (None, None)
    overdue = {**EXAMPLE_ROW, "orders_due_for_shipping": 289.0, "overdue_shipping_share": 0.01}
    assert _only_reason("overdue_shipping_share", overdue) == (None, None)  # 1% overdue: what honest sellers show
    assert (
        _only_reason("overdue_shipping_share", {**overdue, "overdue_shipping_share": 0.2})[0] == "SELLER_NOT_SHIPPING"
    )


# --- top-k selection ----------------------------------------------------------------------------

SMALL = [
    "cards_added_1d",
    "cards_added_7d",
    "linked_by_card",
    "account_age_days",
    "failed_logins_1d",
    "is_phone_verified",
]


def _frames(rows: dict[str, list[float]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    contributions = pd.DataFrame.from_dict(rows, orient="index", columns=SMALL)
    values = pd.DataFrame(
        {
            "cards_added_1d": 3.0,
            "cards_added_7d": 4.0,
            "linked_by_card": 5.0,
            "account_age_days": 2.0,
            "failed_logins_1d": 0.0,
            "is_phone_verified": 0.0,
        },
        index=contributions.index,
    )
    return contributions, values


def test_top_three_are_the_largest_positive_contributions_with_distinct_codes():
    contributions, values = _frames(
        {
            # cards_added_7d beats cards_added_1d for CARD_VELOCITY; the negative and zero never count.
            "a": [0.5, 0.9, 0.3, 0.0, -1.0, 0.2],
            "b": [-0.1, 0.0, -0.3, 0.0, -1.0, 0.0],
            "c": [0.0, 0.0, 0.0, 0.7, -1.0, math.nan],
            # Equal contributions: earlier feature first; in a shared code the earlier feature wins.
            "d": [0.4, 0.4, 0.4, 0.4, 0.0, 0.0],
        }
    )
    result = reason_codes_for(contributions, values)

    assert list(result.columns) == [f"reason_{kind}_{i}" for i in (1, 2, 3) for kind in ("code", "text")]
    assert list(result.index) == ["a", "b", "c", "d"]
    codes = result[["reason_code_1", "reason_code_2", "reason_code_3"]]
    assert codes.loc["a"].tolist() == ["CARD_VELOCITY", "SHARED_CARD", "PHONE_NOT_VERIFIED"]
    assert codes.loc["b"].tolist() == [None, None, None]
    assert codes.loc["c"].tolist() == ["NEW_ACCOUNT", None, None]
    assert codes.loc["d"].tolist() == ["CARD_VELOCITY", "SHARED_CARD", "NEW_ACCOUNT"]
    assert result.loc["a", "reason_text_1"] == "4 cards added in the last 7 days"
    assert result.loc["a", "reason_text_3"] == "Phone number not verified"
    assert result.loc["b"].isna().all()
    assert result.loc["c", ["reason_text_2", "reason_text_3"]].tolist() == [None, None]
    assert result.loc["d", "reason_text_1"] == "3 cards added in the last day"


def test_selection_is_deterministic_and_per_row():
    contributions, values = _frames({"a": [0.5, 0.9, 0.3, 0.0, -1.0, 0.2], "d": [0.4, 0.4, 0.4, 0.4, 0.0, 0.0]})
    first = reason_codes_for(contributions, values)
    pd.testing.assert_frame_equal(first, reason_codes_for(contributions, values))
    flipped = reason_codes_for(contributions.iloc[::-1], values.iloc[::-1])
    pd.testing.assert_frame_equal(first, flipped.loc[first.index])


def test_k_sets_the_number_of_slots():
    contributions, values = _frames({"a": [0.5, 0.9, 0.3, 0.1, 0.05, 0.2]})
    assert reason_codes_for(contributions, values, k=1).columns.tolist() == ["reason_code_1", "reason_text_1"]
    wide = reason_codes_for(contributions, values, k=8)
    # failed_logins_1d pushes the score up (0.05) at 0 failed logins: never a reason.
    assert wide.filter(like="reason_code_").iloc[0].tolist() == [
        "CARD_VELOCITY",
        "SHARED_CARD",
        "PHONE_NOT_VERIFIED",
        "NEW_ACCOUNT",
        None,
        None,
        None,
        None,
    ]


def test_inputs_that_cannot_be_explained_are_refused():
    contributions, values = _frames({"a": [0.5, 0.9, 0.3, 0.1, 0.05, 0.2]})
    with pytest.raises(ValueError, match="no reason for"):
        reason_codes_for(contributions.assign(bias=1.0), values)
    with pytest.raises(ValueError, match="same index"):
        reason_codes_for(contributions, values.set_axis(["z"]))
    with pytest.raises(ValueError, match="values lack"):
        reason_codes_for(contributions, values.drop(columns="linked_by_card"))


def _risky(risky: RiskyWhen, value: float) -> bool:
    if math.isnan(value):
        return risky.unknown
    if risky.above is None and risky.below is None:
        return False
    return (risky.above is None or value > risky.above) and (risky.below is None or value < risky.below)


def _quoted_values(feature: str, row: dict[str, float]) -> list[float]:
    """The quantities the text of `feature`'s reason quotes for this row as printed, read one by
    one (its own value left out where zero is risky, as an account 0 days old)."""
    reason = VOCABULARY[feature]
    own_zero_risky = _risky(reason.risky_when, 0.0)
    derived = {name: float(derive(lambda n: row.get(n, math.nan))) for name, derive in DERIVED.items()}
    shown = []
    for _, field, spec, _ in string.Formatter().parse(reason.template_for(row[feature])):
        if field is None or (field == feature and own_zero_risky):
            continue
        value = derived[field] if field in derived else row.get(field, math.nan)
        if math.isfinite(value):
            value = float(_format_value(value, spec).lstrip("$").split()[0].rstrip("%").replace(",", ""))
        shown.append(value)
    return shown


def _may_quote(feature: str, row: dict[str, float]) -> bool:
    """The plain-Python reading of `citable` for one row."""
    quoted = _quoted_values(feature, row)
    return _risky(VOCABULARY[feature].risky_when, row[feature]) and all(math.isfinite(v) and v != 0 for v in quoted)


def _reference_codes(contributions: np.ndarray, values: np.ndarray, k: int) -> list[list[str | None]]:
    """The plain-Python reading of the rule: quotable features by contribution, then feature
    order; first of a code."""
    out = []
    for row, value in zip(contributions, values, strict=True):
        by_name = dict(zip(FEATURES, value.tolist(), strict=True))
        ranked = sorted((-c, i) for i, c in enumerate(row.tolist()) if c > 0 and _may_quote(FEATURES[i], by_name))
        codes: list[str | None] = []
        for _, i in ranked:
            code = VOCABULARY[FEATURES[i]].code
            if code not in codes:
                codes.append(code)
        out.append((codes + [None] * k)[:k])
    return out


def test_fifty_thousand_accounts_at_once():
    rng = np.random.default_rng(3)
    n = 50_000
    # float32 like XGBoost; rounding makes many zeros and exact ties.
    raw = np.round(rng.normal(scale=0.2, size=(n, len(FEATURES))), 1).astype("float32")
    index = pd.Index([f"acct_{i}" for i in range(n)], name="account_id")
    contributions = pd.DataFrame(raw, columns=FEATURES, index=index)
    values = pd.DataFrame(np.tile([EXAMPLE_ROW[f] for f in FEATURES], (n, 1)), columns=FEATURES, index=index)
    values = values.mask(rng.random(values.shape) < 0.1)  # some unknown values

    result = reason_codes_for(contributions, values)

    assert result.shape == (n, 6)
    assert result.index.equals(index)
    codes = result[["reason_code_1", "reason_code_2", "reason_code_3"]].to_numpy().tolist()
    sample = rng.choice(n, size=500, replace=False)
    assert [codes[i] for i in sample] == _reference_codes(raw[sample], values.to_numpy()[sample], 3)
    texts = result[["reason_text_1", "reason_text_2", "reason_text_3"]].to_numpy()
    assert (pd.isna(texts) == result.filter(like="reason_code_").isna().to_numpy()).all()
    assert not any(NAN_WORDS.search(t) for t in texts[sample].ravel() if t is not None)


def _one_reason_per_row(rng: np.random.Generator, rows_per_feature: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each feature in turn as a row's only positive contributor, over values that stress the
    formatting: unknown, zero, negative zero, one, halves (rounding), thousands, fractions."""
    n = rows_per_feature * len(FEATURES)
    pool = np.array([math.nan, 0.0, -0.0, 1.0, 2.0, 2.5, 3.5, 0.125, 0.5, 1234.5, 999.5, 12.3456, 1e6 + 0.5])
    values = pd.DataFrame(rng.choice(pool, size=(n, len(FEATURES))), columns=FEATURES)
    contributions = pd.DataFrame(np.zeros((n, len(FEATURES)), dtype="float32"), columns=FEATURES)
    for i in range(n):
        contributions.iloc[i, i % len(FEATURES)] = 0.5
    return contributions, values


@pytest.mark.parametrize("rows_per_feature", [1, 80])  # few picks: one at a time; many: per feature
def test_texts_of_many_rows_are_the_texts_of_each_row_on_its_own(rows_per_feature):
    contributions, values = _one_reason_per_row(np.random.default_rng(rows_per_feature), rows_per_feature)

    result = reason_codes_for(contributions, values)

    rows = values.to_dict("records")
    features = [FEATURES[i % len(FEATURES)] for i in range(len(rows))]
    expected = [reason_text(f, row) if _may_quote(f, row) else None for f, row in zip(features, rows, strict=True)]
    assert result["reason_text_1"].tolist() == expected
    assert sum(text is not None for text in expected) > len(rows) / 5
    assert result["reason_text_2"].isna().all()


# --- the generated page -------------------------------------------------------------------------


def test_reason_codes_page_on_disk_is_up_to_date():
    assert DEFAULT_OUTPUT.read_text(encoding="utf-8") == render_reason_codes(DEFAULT_MODELS_YML), (
        "ml/score/REASON_CODES.md is stale: run `uv run python -m ml.score.reasons`"
    )
    assert main(["--check"]) == 0


def test_check_fails_on_a_stale_or_missing_page_and_writing_fixes_it(tmp_path):
    page = tmp_path / "REASON_CODES.md"
    assert main(["--check"], output=page) == 1
    page.write_text(render_reason_codes(DEFAULT_MODELS_YML).replace("NEW_ACCOUNT", "YOUNG_ACCOUNT"))
    assert main(["--check"], output=page) == 1
    assert main([], output=page) == 0
    assert main(["--check"], output=page) == 0


def test_page_lists_every_feature_with_its_code_and_example():
    page = render_reason_codes(DEFAULT_MODELS_YML)
    for feature in FEATURES:
        code = VOCABULARY[feature].code
        row = re.search(rf"^\| `{code}` \| `{feature}` \| (.+?) \|", page, flags=re.M)
        assert row, feature
        assert reason_text(feature, EXAMPLE_ROW) in row.group(1) or VOCABULARY[feature].if_false
