"""What a pipeline run built, read back from the warehouse for a short printed summary."""

from __future__ import annotations

from ml.contract import TABLES
from ml.ingest.schema import INGEST_SCHEMA, LEDGER_TABLE, QUARANTINE_TABLE, RAW_SCHEMA
from ml.warehouse import Warehouse


def warehouse_summary(warehouse: Warehouse) -> list[str]:
    """Row counts per raw table and staging model, and the quarantine's top reasons."""
    lines = []
    with warehouse.session() as s:
        ledger = s.fetch_arrow(
            f"select status, count(*) as files from {INGEST_SCHEMA}.{LEDGER_TABLE} group by status order by status"
        ).to_pylist()
        lines.append("landing files: " + ", ".join(f"{r['files']} {r['status']}" for r in ledger))
        lines.append(f"{'table':<22}{'raw rows':>12}{'quarantined':>13}{'staging rows':>14}")
        quarantined = {
            r["table_name"]: r["n"]
            for r in s.fetch_arrow(
                f"select table_name, count(*) as n from {INGEST_SCHEMA}.{QUARANTINE_TABLE} group by table_name"
            ).to_pylist()
        }
        for name in TABLES:
            raw = s.fetch_arrow(f"select count(*) as n from {RAW_SCHEMA}.{name}").to_pylist()[0]["n"]
            try:
                stg = s.fetch_arrow(f"select count(*) as n from staging.stg_marketplace__{name}").to_pylist()[0]["n"]
            except Exception:  # staging not built (yet): show it as missing rather than fail
                stg = "-"
            lines.append(
                f"{name:<22}{raw:>12,}{quarantined.get(name, 0):>13,}{stg:>14,}"
                if stg != "-"
                else f"{name:<22}{raw:>12,}{quarantined.get(name, 0):>13,}{stg:>14}"
            )
        reasons = s.fetch_arrow(
            "select trim(split_part(split_part(reason, ';', 1), ':', 1)) as reason, count(*) as n "
            f"from {INGEST_SCHEMA}.{QUARANTINE_TABLE} group by 1 order by n desc, reason limit 5"
        ).to_pylist()
        if reasons:
            lines.append("top quarantine reasons: " + "; ".join(f"{r['reason']} ({r['n']})" for r in reasons))
        try:
            f = s.fetch_arrow(
                "select count(*) as n, count(distinct account_id) as accounts, min(as_of_date) as first_day,"
                " max(as_of_date) as last_day from marts.fct_account_features_daily"
            ).to_pylist()[0]
            lab = s.fetch_arrow(
                "select count(*) as n, sum(case when is_label_final then 1 else 0 end) as final,"
                " sum(case when is_bad then 1 else 0 end) as bad from marts.fct_account_labels_daily"
            ).to_pylist()[0]
        except Exception:  # marts not built (yet)
            return lines
        lines.append(
            f"features: {f['n']:,} account-days ({f['accounts']:,} accounts, {f['first_day']} .. {f['last_day']})"
            " in marts.fct_account_features_daily"
        )
        final, bad = lab["final"] or 0, lab["bad"] or 0
        lines.append(
            f"labels:   {final:,} final ({bad:,} bad), {lab['n'] - final:,} pending in marts.fct_account_labels_daily"
        )
    return lines
