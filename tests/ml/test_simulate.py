"""The marketplace simulator (ml/simulate): files, contract, determinism, honest signals."""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml.contract import TABLES
from ml.simulate import LandingNotEmptyError, SimulationConfig, simulate
from ml.simulate.cli import main

SMALL = SimulationConfig(n_accounts=3_000, start_date=date(2026, 1, 1), end_date=date(2026, 3, 31), seed=7)
EXPECTED_ARROW = {
    "string": pa.string(),
    "timestamp": pa.timestamp("us"),
    "boolean": pa.bool_(),
    "amount": pa.decimal128(12, 2),
}
BATCH_FILE = re.compile(r"^(\d{4})w(\d{2})_c(\d{3})(_dirty\.csv|\.parquet)$")


def _run(root: Path, config: SimulationConfig) -> dict[str, Path]:
    simulate(config, root / "landing", root / "ground_truth")
    return {"landing": root / "landing", "ground_truth": root / "ground_truth"}


@pytest.fixture(scope="module")
def dirty_run(tmp_path_factory) -> dict[str, Path]:
    return _run(tmp_path_factory.mktemp("dirty"), SMALL)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> dict[str, Path]:
    """Through the CLI, with --no-dirty."""
    root = tmp_path_factory.mktemp("clean")
    code = main(
        [
            "--accounts", str(SMALL.n_accounts), "--seed", str(SMALL.seed),
            "--start", "2026-01-01", "--end", "2026-03-31", "--no-dirty",
            "--landing-dir", str(root / "landing"),
            "--ground-truth-dir", str(root / "ground_truth"),
        ]
    )  # fmt: skip
    assert code == 0
    return {"landing": root / "landing", "ground_truth": root / "ground_truth"}


def _table(landing: Path, table: str) -> pd.DataFrame:
    files = sorted((landing / table).glob("*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files]).to_pandas()


def _truth(run: dict[str, Path]) -> pd.DataFrame:
    return pq.read_table(run["ground_truth"] / "accounts.parquet").to_pandas()


def _latest(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.sort_values("_loaded_at").drop_duplicates(key, keep="last")


def _file_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _accounts_of(truth: pd.DataFrame, abuse_type: str) -> set[str]:
    return set(truth.loc[truth["abuse_type"] == abuse_type, "account_id"])


def _good(truth: pd.DataFrame) -> set[str]:
    return set(truth.loc[~truth["is_abuser"], "account_id"])


# --- files and contract -----------------------------------------------------------------


def test_same_seed_writes_byte_identical_files(dirty_run, tmp_path):
    twin = _run(tmp_path, SMALL)
    assert _file_bytes(twin["landing"]) == _file_bytes(dirty_run["landing"])
    assert _file_bytes(twin["ground_truth"]) == _file_bytes(dirty_run["ground_truth"])


def test_a_different_seed_simulates_a_different_world(dirty_run, tmp_path):
    other = _run(tmp_path, replace(SMALL, seed=8))
    ours, theirs = _table(dirty_run["landing"], "accounts"), _table(other["landing"], "accounts")
    assert set(ours["created_at"]).isdisjoint(set(theirs["created_at"]))
    assert not _truth(dirty_run)["is_abuser"].equals(_truth(other)["is_abuser"])


def test_every_parquet_batch_has_exactly_the_contract_columns_and_types(dirty_run):
    files = list(dirty_run["landing"].glob("*/*.parquet"))
    assert files
    for path in files:
        expected = [(c.name, EXPECTED_ARROW[c.type]) for c in TABLES[path.parent.name].columns]
        schema = pq.read_schema(path)
        assert [(f.name, f.type) for f in schema] == expected, path


def test_every_dirty_csv_batch_has_the_contract_header(dirty_run):
    files = list(dirty_run["landing"].glob("*/*.csv"))
    assert files
    for path in files:
        with path.open(newline="") as handle:
            header = next(csv.reader(handle))
        assert header == TABLES[path.parent.name].column_names, path


def test_batches_are_named_by_the_iso_week_of_their_loaded_at_and_their_chunk(dirty_run):
    landing = dirty_run["landing"]
    assert sorted(p.name for p in landing.iterdir()) == sorted(TABLES)
    for path in landing.glob("*/*"):
        match = BATCH_FILE.match(path.name)
        assert match, path
        if path.suffix == ".parquet":
            loaded = pq.read_table(path, columns=["_loaded_at"]).column(0).to_pandas()
            weeks = {tuple(d.isocalendar())[:2] for d in loaded}
            assert weeks == {(int(match[1]), int(match[2]))}, path


def test_landing_folder_holds_only_contract_tables_and_never_the_ground_truth(dirty_run):
    landing, truth = dirty_run["landing"], dirty_run["ground_truth"]
    assert (truth / "accounts.parquet").exists() and (truth / "manifest.json").exists()
    assert {p.parent.name for p in landing.rglob("*") if p.is_file()} <= set(TABLES)
    for path in landing.glob("*/*.parquet"):
        assert "is_abuser" not in pq.read_schema(path).names


def test_simulate_refuses_to_put_the_ground_truth_inside_the_landing_folder(tmp_path):
    with pytest.raises(ValueError, match="ground truth"):
        simulate(SMALL, tmp_path / "landing", tmp_path / "landing" / "truth")


def test_simulate_refuses_a_landing_folder_that_already_holds_files(tmp_path):
    old = tmp_path / "landing" / "orders" / "2026w01_c000.parquet"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"earlier run")
    with pytest.raises(LandingNotEmptyError):
        simulate(SMALL, tmp_path / "landing", tmp_path / "truth")
    assert old.read_bytes() == b"earlier run"


def test_cli_writes_under_vigil_data_dir_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("VIGIL_LANDING_DIR", raising=False)
    assert main(["--accounts", "300", "--start", "2026-01-01", "--end", "2026-01-31"]) == 0
    assert list((tmp_path / "data" / "landing" / "logins").glob("*.parquet"))
    assert (tmp_path / "data" / "ground_truth" / "accounts.parquet").exists()


def test_smaller_chunks_keep_the_same_population(clean_run, tmp_path):
    chunked = _run(tmp_path, replace(SMALL, dirty_rate=0.0, chunk_accounts=1_000))
    names = {p.name for p in (chunked["landing"] / "accounts").iterdir()}
    assert {n[-12:-8] for n in names} == {"c000", "c001", "c002"}
    ours = _table(clean_run["landing"], "accounts")
    theirs = _table(chunked["landing"], "accounts")
    # Only loader delays differ per chunk; an account created in the last minutes may not
    # have landed yet in one of the runs.
    both = set(ours["account_id"]) & set(theirs["account_id"])
    assert len(both) >= SMALL.n_accounts - 3

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame[frame["account_id"].isin(both)].drop(columns="_loaded_at")
        return frame.sort_values(["account_id", "is_seller"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(rows(ours), rows(theirs))
    assert _truth(clean_run).equals(_truth(chunked))
    assert len(_table(chunked["landing"], "bids")) > 0.8 * len(_table(clean_run["landing"], "bids"))


# --- loading behaviour ------------------------------------------------------------------


def test_clean_rows_land_within_seven_days_of_their_own_timestamps(clean_run):
    late = 0
    for name, spec in TABLES.items():
        frame = _table(clean_run["landing"], name)
        stamps = [c.name for c in spec.columns if c.type == "timestamp" and c.name != "_loaded_at"]
        delay = frame["_loaded_at"] - frame[stamps].max(axis=1)
        assert delay.min() > timedelta(0), name
        assert delay.max() <= timedelta(days=7), name
        late += int((delay > timedelta(hours=1)).sum())
    assert late > 0  # some rows do arrive late


VALID_HISTORIES = {
    ("placed",),
    ("placed", "shipped"),
    ("placed", "shipped", "delivered"),
    ("placed", "cancelled"),
}
# Besides the primary key, what distinguishes two versions of a re-emitted row.
VERSION_COLUMNS = {"orders": ["status"], "livestreams": ["ended_at"], "accounts": ["is_seller"]}


def test_orders_are_re_emitted_for_each_status_change_in_loading_order(clean_run):
    orders = _table(clean_run["landing"], "orders")
    history = orders.sort_values("_loaded_at").groupby("order_id")["status"].agg(tuple)
    assert (history.map(len) == 3).mean() > 0.5
    assert history.isin(VALID_HISTORIES).all()
    assert set(history) == VALID_HISTORIES


def test_no_dirty_writes_no_malformed_rows_and_no_duplicates(clean_run):
    assert not list(clean_run["landing"].glob("*/*.csv"))
    for name, spec in TABLES.items():
        frame = _table(clean_run["landing"], name)
        assert frame[spec.primary_key].notna().all(), name
        key = [spec.primary_key, *VERSION_COLUMNS.get(name, [])]
        assert not frame.duplicated(key).any(), name


def _problems(row: dict[str, str], table: str) -> set[str]:
    """Every way a text row breaks the contract (what ingestion must catch)."""
    found = set()
    stamps = {}
    for column in TABLES[table].columns:
        value = row[column.name]
        if value == "":
            if not column.nullable:
                found.add("null")
            continue
        if column.allowed and value not in column.allowed:
            found.add("unknown_enum")
        if column.type == "timestamp":
            stamps[column.name] = pd.to_datetime(value, errors="coerce", format="ISO8601")
            if pd.isna(stamps[column.name]):
                found.add("bad_timestamp")
        if column.type == "amount":
            number = pd.to_numeric(value, errors="coerce")
            found |= {"bad_amount"} if pd.isna(number) else {"negative_amount"} if number < 0 else set()
        if column.type == "boolean" and value not in ("true", "false"):
            found.add("bad_boolean")
    loaded = stamps.pop("_loaded_at", None)
    if loaded is not None and any(ts > loaded for ts in stamps.values() if pd.notna(ts)):
        found.add("future_timestamp")
    return found


def test_dirty_mode_writes_only_broken_rows_to_csv_and_resends_duplicates(dirty_run):
    kinds = set()
    n_rows = 0
    for path in dirty_run["landing"].glob("*/*.csv"):
        for row in csv.DictReader(path.open(newline="")):
            problems = _problems(row, path.parent.name)
            assert problems, (path, row)
            kinds |= problems
            n_rows += 1
    assert n_rows > 0
    assert kinds == {
        "null", "unknown_enum", "bad_timestamp", "bad_amount", "negative_amount", "bad_boolean",
        "future_timestamp",
    }  # fmt: skip
    bids = _table(dirty_run["landing"], "bids")
    assert bids["bid_id"].duplicated().any()
    assert bids["bid_id"].duplicated().mean() < 0.02


# --- the world: patterns, traps, labels ---------------------------------------------------


def test_ground_truth_holds_every_abuse_pattern_and_every_trap(dirty_run):
    truth = _truth(dirty_run)
    assert len(truth) == SMALL.n_accounts
    assert set(truth["abuse_type"].dropna()) == {
        "payment_fraud", "account_takeover", "seller_scam", "shill_bidding", "multi_accounting",
    }  # fmt: skip
    assert set(truth["trap_type"].dropna()) == {
        "traveller", "big_spender", "slow_shipper", "shared_family_device",
    }  # fmt: skip


def test_abusers_are_a_small_minority_and_traps_are_never_abusers(dirty_run):
    truth = _truth(dirty_run)
    assert 0.02 < truth["is_abuser"].mean() < 0.06
    assert not truth.loc[truth["trap_type"].notna(), "is_abuser"].any()
    assert (truth["abuse_type"].notna() == truth["is_abuser"]).all()
    assert (truth["abuse_start_at"].notna() == truth["is_abuser"]).all()
    ringed = truth.loc[truth["ring_id"].notna(), "abuse_type"]
    assert set(ringed) == {"shill_bidding", "multi_accounting", "payment_fraud"}


def test_payment_fraudsters_hold_risky_cards_more_often_than_good_accounts_but_not_always(
    dirty_run,
):
    truth = _truth(dirty_run)
    cards = _table(dirty_run["landing"], "payment_methods").drop_duplicates("payment_method_id")
    country = _latest(_table(dirty_run["landing"], "accounts"), "account_id").set_index("account_id")["country"]
    risky = (cards["card_type"] == "prepaid") | (cards["card_country"] != cards["account_id"].map(country))
    per_account = risky.groupby(cards["account_id"]).any()
    fraud = per_account[per_account.index.isin(_accounts_of(truth, "payment_fraud"))].mean()
    good = per_account[per_account.index.isin(_good(truth))].mean()
    assert good < 0.2
    assert fraud > 2 * good
    assert fraud < 1.0


def test_stolen_cards_are_shared_across_fraud_accounts(dirty_run):
    truth = _truth(dirty_run)
    cards = _table(dirty_run["landing"], "payment_methods").drop_duplicates("payment_method_id")
    holders = cards.groupby("card_fingerprint")["account_id"].nunique()
    fraud_cards = cards.loc[cards["account_id"].isin(_accounts_of(truth, "payment_fraud")), "card_fingerprint"]
    assert (holders[fraud_cards.unique()] > 1).mean() > 0.3
    good_cards = cards.loc[cards["account_id"].isin(_good(truth)), "card_fingerprint"]
    assert (holders[good_cards.unique()] > 1).mean() < 0.05


def test_chargebacks_arrive_5_to_90_days_after_their_order_and_fraud_ones_follow_abuse(dirty_run):
    truth = _truth(dirty_run)
    orders = _latest(_table(dirty_run["landing"], "orders"), "order_id").set_index("order_id")
    chargebacks = _table(dirty_run["landing"], "chargebacks").drop_duplicates("chargeback_id")
    delay = chargebacks["reported_at"] - chargebacks["order_id"].map(orders["created_at"])
    assert delay.notna().all()
    assert delay.min() >= timedelta(days=5) and delay.max() <= timedelta(days=90)
    fraud = chargebacks[chargebacks["reason"] == "fraud"]
    buyer_is_abuser = (
        fraud["order_id"]
        .map(orders["buyer_id"])
        .isin(_accounts_of(truth, "payment_fraud") | _accounts_of(truth, "account_takeover"))
    )
    assert 0.5 < buyer_is_abuser.mean() < 1.0  # mostly abuse, some friendly-fraud noise
    fraud_orders = orders[orders["buyer_id"].isin(_accounts_of(truth, "payment_fraud"))]
    assert fraud_orders.index.isin(fraud["order_id"]).mean() < 0.9  # not on every order


def test_scam_sellers_leave_far_more_orders_unshipped_than_other_sellers(dirty_run):
    truth = _truth(dirty_run)
    orders = _latest(_table(dirty_run["landing"], "orders"), "order_id")
    settled = orders[orders["created_at"] < pd.Timestamp("2026-03-10")]
    unshipped = (
        (settled["status"] == "placed").groupby(settled["seller_id"].isin(_accounts_of(truth, "seller_scam"))).mean()
    )
    assert unshipped[False] < 0.02
    assert 0.3 < unshipped[True] < 1.0
    reports = _table(dirty_run["landing"], "user_reports")
    scam_reports = reports[reports["reason"] == "scam"]
    assert scam_reports["reported_id"].isin(_accounts_of(truth, "seller_scam")).mean() > 0.3


def test_shills_bid_up_their_ring_sellers_lots_but_rarely_win_them(dirty_run):
    truth = _truth(dirty_run).set_index("account_id")
    shill = truth[truth["abuse_type"] == "shill_bidding"]
    streams = _table(dirty_run["landing"], "livestreams").drop_duplicates("stream_id").set_index("stream_id")
    bids = _table(dirty_run["landing"], "bids").drop_duplicates("bid_id")
    bids["seller_id"] = bids["stream_id"].map(streams["seller_id"])
    bids = bids[bids["seller_id"].notna()]
    same_ring = bids["bidder_id"].map(shill["ring_id"]) == bids["seller_id"].map(shill["ring_id"])
    assert same_ring.sum() > 20
    ring_lots = set(bids.loc[bids["seller_id"].isin(shill.index), "listing_id"])
    orders = _latest(_table(dirty_run["landing"], "orders"), "order_id")
    won = orders[orders["listing_id"].isin(ring_lots)]
    shill_wins = won["buyer_id"].map(shill["ring_id"]) == won["seller_id"].map(shill["ring_id"])
    assert shill_wins.mean() < 0.2


def test_multi_accounting_rings_share_devices_far_more_than_good_accounts(dirty_run):
    truth = _truth(dirty_run)
    logins = _table(dirty_run["landing"], "logins").drop_duplicates("event_id")
    per_device = logins.groupby("device_id")["account_id"].nunique()
    most_shared = logins["device_id"].map(per_device).groupby(logins["account_id"]).max()
    multi = most_shared[most_shared.index.isin(_accounts_of(truth, "multi_accounting"))]
    good = most_shared[most_shared.index.isin(_good(truth) - set(truth.loc[truth["trap_type"].notna(), "account_id"]))]
    assert multi.median() >= 3
    assert good.median() == 1
    assert (good > 1).any()  # shared public devices exist for honest people too


def test_takeover_victims_log_in_from_unseen_devices_after_the_takeover(dirty_run):
    truth = _truth(dirty_run).set_index("account_id")
    victims = truth[truth["abuse_type"] == "account_takeover"]
    logins = _table(dirty_run["landing"], "logins").drop_duplicates("event_id")
    logins = logins[logins["account_id"].isin(victims.index)]
    before = logins["occurred_at"] < logins["account_id"].map(victims["abuse_start_at"])
    known = logins[before & logins["success"]]  # failed attempts do not make a device known
    seen = set(zip(known["account_id"], known["device_id"], strict=True))
    after = logins[~before]
    unseen = [(a, d) not in seen for a, d in zip(after["account_id"], after["device_id"], strict=True)]
    hit = after[unseen].groupby("account_id")["success"].any()
    assert hit.reindex(victims.index, fill_value=False).mean() > 0.8


def test_enforcement_misses_abusers_and_mostly_reverses_wrong_actions_on_appeal(dirty_run):
    truth = _truth(dirty_run)
    actions = _table(dirty_run["landing"], "enforcement_actions").drop_duplicates("action_id")
    blocking = actions[actions["action"].isin(["suspend", "ban"])]
    abusers = truth.loc[truth["is_abuser"], "account_id"]
    recall = abusers.isin(blocking["account_id"]).mean()
    assert 0.2 < recall < 0.9
    wrong = blocking[blocking["account_id"].isin(_good(truth))]
    assert len(wrong) > 0
    appealed = actions[(actions["action"] == "reinstate") & (actions["source"] == "appeal")]
    assert wrong["account_id"].isin(appealed["account_id"]).mean() > 0.5
    trap_accounts = set(truth.loc[truth["trap_type"].notna(), "account_id"])
    assert wrong["account_id"].isin(trap_accounts).mean() > 0.3  # traps draw most mistakes
    assert {"warn", "suspend", "ban", "reinstate"} <= set(actions["action"])
    on_abusers = blocking[blocking["account_id"].isin(abusers)]
    began = on_abusers["account_id"].map(truth.set_index("account_id")["abuse_start_at"])
    assert (on_abusers["occurred_at"] > began).all()  # caught after, never before, the abuse
