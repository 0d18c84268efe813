"""What a pipeline run built, read back from the warehouse for a short printed summary."""

from __future__ import annotations

import math

from ml import settings
from ml.contract import TABLES
from ml.ingest.schema import LEDGER_TABLE, QUARANTINE_TABLE
from ml.registry import CHALLENGER, CHAMPION, ModelRegistry
from ml.score.schema import risk_schema
from ml.warehouse import Warehouse


def warehouse_summary(warehouse: Warehouse) -> list[str]:
    """Row counts per raw table and staging model, and the quarantine's top reasons."""
    lines = []
    ingest, raw_schema = settings.ingest_schema(), settings.raw_schema()
    staging, marts = settings.schema_name("staging"), settings.schema_name("marts")
    with warehouse.session() as s:
        ledger = s.fetch_arrow(
            f"select status, count(*) as files from {ingest}.{LEDGER_TABLE} group by status order by status"
        ).to_pylist()
        lines.append("landing files: " + ", ".join(f"{r['files']} {r['status']}" for r in ledger))
        lines.append(f"{'table':<22}{'raw rows':>12}{'quarantined':>13}{'staging rows':>14}")
        quarantined = {
            r["table_name"]: r["n"]
            for r in s.fetch_arrow(
                f"select table_name, count(*) as n from {ingest}.{QUARANTINE_TABLE} group by table_name"
            ).to_pylist()
        }
        for name in TABLES:
            raw = s.fetch_arrow(f"select count(*) as n from {raw_schema}.{name}").to_pylist()[0]["n"]
            try:
                stg = s.fetch_arrow(f"select count(*) as n from {staging}.stg_marketplace__{name}").to_pylist()[0]["n"]
            except Exception:  # staging not built (yet): show it as missing rather than fail
                stg = "-"
            lines.append(
                f"{name:<22}{raw:>12,}{quarantined.get(name, 0):>13,}{stg:>14,}"
                if stg != "-"
                else f"{name:<22}{raw:>12,}{quarantined.get(name, 0):>13,}{stg:>14}"
            )
        reasons = s.fetch_arrow(
            "select trim(split_part(split_part(reason, ';', 1), ':', 1)) as reason, count(*) as n "
            f"from {ingest}.{QUARANTINE_TABLE} group by 1 order by n desc, reason limit 5"
        ).to_pylist()
        if reasons:
            lines.append("top quarantine reasons: " + "; ".join(f"{r['reason']} ({r['n']})" for r in reasons))
        try:
            f = s.fetch_arrow(
                "select count(*) as n, count(distinct account_id) as accounts, min(as_of_date) as first_day,"
                f" max(as_of_date) as last_day from {marts}.fct_account_features_daily"
            ).to_pylist()[0]
            lab = s.fetch_arrow(
                "select count(*) as n, sum(case when is_label_final then 1 else 0 end) as final,"
                f" sum(case when is_bad then 1 else 0 end) as bad from {marts}.fct_account_labels_daily"
            ).to_pylist()[0]
        except Exception:  # marts not built (yet)
            return lines
        lines.append(
            f"features: {f['n']:,} account-days ({f['accounts']:,} accounts, {f['first_day']} .. {f['last_day']})"
            f" in {marts}.fct_account_features_daily"
        )
        final, bad = lab["final"] or 0, lab["bad"] or 0
        lines.append(
            f"labels:   {final:,} final ({bad:,} bad), {lab['n'] - final:,} pending in {marts}.fct_account_labels_daily"
        )
    return lines


MODEL_METRICS = ("roc_auc", "average_precision", "recall_at_capacity", "precision_at_capacity", "brier")


def model_summary(registry: ModelRegistry) -> list[str]:
    """The champion and the test-block metrics of its training run, next to the baselines."""
    champion = registry.version_of(CHAMPION)
    challenger = registry.version_of(CHALLENGER)
    if champion is None:
        return [f"model: no champion of {registry.model_name} yet (challenger: {challenger or 'none'})"]
    version = registry.client.get_model_version(registry.model_name, champion)
    run = registry.client.get_run(version.run_id).data
    lines = [
        f"model:    {registry.model_name} champion v{champion} (challenger v{challenger}),"
        f" MLflow run {version.run_id[:12]}, tracking {registry.display_uri}",
        f"test block {run.params.get('split_test_start')} .. {run.params.get('split_test_end')}:",
        f"  {'score':<12}" + "".join(f"{m:>23}" for m in MODEL_METRICS),
    ]
    for name in ("challenger", "logistic", "rules"):
        values = [run.metrics.get(f"test.{name}.{m}") for m in MODEL_METRICS]
        label = f"v{champion}" if name == "challenger" else name
        lines.append(f"  {label:<12}" + "".join(f"{v:>23.4f}" if v is not None else f"{'-':>23}" for v in values))
    per_day = {k.rsplit(".", 1)[1]: v for k, v in run.metrics.items() if k.startswith("test.challenger.per_day.")}
    params = run.params
    sellers = (
        f" (sellers: review >= {float(params['policy_seller_review_threshold']):.3f},"
        f" block >= {float(params['policy_seller_block_threshold']):.3f})"
        if "policy_seller_review_threshold" in params
        else ""
    )
    lines.append(
        f"  policy: review >= {float(params['policy_review_threshold']):.3f},"
        f" block >= {float(params['policy_block_threshold']):.3f}{sellers}; per test day "
        + ", ".join(f"{k.removesuffix('_per_day')} {v:.1f}" for k, v in per_day.items())
    )
    recall = {k.rsplit(".", 1)[1]: v for k, v in run.metrics.items() if k.startswith("test.challenger.recall.")}
    truth = "test.challenger.truth_recall_after_onset."
    if recall:  # with the simulator's ground truth only
        lines.append(
            "  recall at capacity by abuse type (labelled bad rows; every row after onset): "
            + ", ".join(f"{k} {v:.3f} ({run.metrics.get(truth + k, math.nan):.3f})" for k, v in sorted(recall.items()))
        )
    queue = "test.challenger.truth_queue_per_day."
    held = {k.removeprefix(queue): v for k, v in run.metrics.items() if k.startswith(queue)}
    if held:
        honest = held.pop("honest", math.nan)
        lines.append(
            f"  queue a day by ground truth: {sum(held.values()):.1f} abuser account-days after onset ("
            + ", ".join(f"{k} {v:.1f}" for k, v in sorted(held.items()))
            + f"), {honest:.1f} honest"
        )
    return lines


def scoring_summary(warehouse: Warehouse, examples: int = 3) -> list[str]:
    """Scores per band, the sync table's decisions, and a few example rows with reasons."""
    risk = risk_schema()
    with warehouse.session() as s:
        try:
            days = s.fetch_arrow(
                "select as_of_date, count(*) as n, sum(case when band = 'review' then 1 else 0 end) as review,"
                f" sum(case when band = 'block' then 1 else 0 end) as block from {risk}.account_risk_scores"
                " group by as_of_date order by as_of_date"
            ).to_pylist()
            sync = s.fetch_arrow(
                f"select decision, count(*) as n from {risk}.enforcement_sync group by decision order by decision"
            ).to_pylist()
            top = s.fetch_arrow(
                "select account_id, decision, score, effective_from, reason_text_1, reason_text_2, reason_text_3"
                f" from {risk}.enforcement_sync where not is_tombstone and decision <> 'none'"
                f" order by score desc, account_id limit {int(examples)}"
            ).to_pylist()
            history = s.fetch_arrow(f"select count(*) as n from {risk}.enforcement_decisions").to_pylist()[0]["n"]
            gate = s.fetch_arrow(
                "select count(distinct as_of_date) as days, sum(case when passed then 0 else 1 end) as failed,"
                f" (select count(*) from {risk}.enforcement_sync_runs) as applied,"
                f" (select count(*) from {risk}.publication_overrides) as overrides"
                f" from {risk}.publication_checks"
            ).to_pylist()[0]
        except Exception:  # scoring not run (yet)
            return []
    if not days:
        return []
    last = days[-1]
    lines = [
        f"scores:   {sum(d['n'] for d in days):,} account-days over {len(days)} days in {risk}.account_risk_scores;"
        f" {last['as_of_date']}: {last['n']:,} accounts, {last['review']} review, {last['block']} block",
        f"sync:     {risk}.enforcement_sync "
        + ", ".join(f"{r['decision']} {r['n']:,}" for r in sync)
        + f"; {history:,} decision changes in {risk}.enforcement_decisions",
        f"gate:     {gate['days']} days checked ({int(gate['failed'] or 0)} failed or warned checks in"
        f" {risk}.publication_checks), {gate['applied']} applied by the sync, {gate['overrides']} overrides",
        "examples from the sync table (flagged accounts, highest score when the decision was set):",
    ]
    for row in top:
        lines.append(
            f"  {row['account_id']}  {row['decision']:<6} score {row['score']:.3f} since {row['effective_from']}"
        )
        for key in ("reason_text_1", "reason_text_2", "reason_text_3"):
            if row[key]:
                lines.append(f"      - {row[key]}")
    return lines
