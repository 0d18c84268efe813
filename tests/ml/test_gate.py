from ml.gate import Evaluation, GateConfig, decide_promotion, loosened, promotion_record_problems

CONFIG = GateConfig(min_average_precision_gain=0.005, max_segment_fpr_increase=0.002, max_volume_change=0.25)
RULES = Evaluation(average_precision=0.10, recall_at_capacity=0.20)
CHAMPION = Evaluation(0.40, 0.50, {"new_accounts": 0.010, "tenured": 0.002}, actions_per_day=100)


def test_the_first_model_is_promoted_only_when_it_beats_the_rules_baseline():
    assert decide_promotion(Evaluation(0.30, 0.40), None, RULES, CONFIG).promote
    refused = decide_promotion(Evaluation(0.08, 0.40), None, RULES, CONFIG)
    assert not refused.promote and "rules baseline" in refused.reasons[0]


def test_a_better_challenger_is_promoted():
    better = Evaluation(0.42, 0.52, {"new_accounts": 0.011, "tenured": 0.002}, actions_per_day=110)
    assert decide_promotion(better, CHAMPION, RULES, CONFIG).promote


def test_a_worse_challenger_is_refused():
    worse = Evaluation(0.38, 0.49, {"new_accounts": 0.010, "tenured": 0.002}, actions_per_day=100)
    decision = decide_promotion(worse, CHAMPION, RULES, CONFIG)
    assert not decision.promote
    assert any("average precision" in r for r in decision.reasons)
    assert any("recall at capacity" in r for r in decision.reasons)


def test_a_segment_false_positive_regression_is_refused_even_with_better_metrics():
    regress = Evaluation(0.45, 0.55, {"new_accounts": 0.020, "tenured": 0.002}, actions_per_day=100)
    decision = decide_promotion(regress, CHAMPION, RULES, CONFIG)
    assert not decision.promote
    assert decision.reasons == ("false-positive rate of segment 'new_accounts' rises 0.0100 -> 0.0200 (bound +0.002)",)


def test_a_lost_abuse_type_is_refused_even_with_better_metrics():
    champion = Evaluation(0.40, 0.50, actions_per_day=100, recall_by_type={"seller_scam": 0.80, "shill_bidding": 0.30})
    drops_shill = Evaluation(
        0.45, 0.55, actions_per_day=100, recall_by_type={"seller_scam": 0.90, "shill_bidding": 0.2}
    )
    within = Evaluation(0.45, 0.55, actions_per_day=100, recall_by_type={"seller_scam": 0.76, "shill_bidding": 0.30})
    new_type = Evaluation(0.45, 0.55, actions_per_day=100, recall_by_type={"seller_scam": 0.8, "account_takeover": 0.1})

    decision = decide_promotion(drops_shill, champion, RULES, CONFIG)

    assert not decision.promote
    assert decision.reasons == (
        "recall at capacity of abuse type 'shill_bidding' falls 0.3000 -> 0.2000 (bound -0.05)",
    )
    assert decide_promotion(within, champion, RULES, CONFIG).promote  # 0.04 lower: within the bound
    assert decide_promotion(new_type, champion, RULES, CONFIG).promote  # a type the champion was not judged on


def test_a_large_shift_in_daily_volume_is_refused():
    shifted = Evaluation(0.45, 0.55, {"new_accounts": 0.010, "tenured": 0.002}, actions_per_day=160)
    decision = decide_promotion(shifted, CHAMPION, RULES, CONFIG)
    assert not decision.promote and "volume" in decision.reasons[0]


def test_an_override_promotes_and_keeps_its_reason_and_the_failures():
    worse = Evaluation(0.38, 0.49, {}, actions_per_day=100)
    decision = decide_promotion(worse, CHAMPION, RULES, CONFIG, override_reason="incident 42: champion degraded")
    assert decision.promote and decision.overridden
    assert decision.reasons[0] == "override: incident 42: champion degraded"
    assert len(decision.reasons) > 1


def test_thresholds_looser_than_the_defaults_are_refused_without_an_override_reason():
    better = Evaluation(0.45, 0.55, {"new_accounts": 0.010, "tenured": 0.002}, actions_per_day=100)
    loose = GateConfig(max_volume_change=10)

    refused = decide_promotion(better, CHAMPION, RULES, loose)
    overridden = decide_promotion(better, CHAMPION, RULES, loose, override_reason="incident 7: known volume shift")

    assert not refused.promote and "max_volume_change 0.25 -> 10" in refused.reasons[0]
    assert overridden.promote and overridden.overridden
    assert "thresholds loosened: max_volume_change 0.25 -> 10" in overridden.reasons
    assert loosened(GateConfig(min_average_precision_gain=0.01, max_volume_change=0.1)) == ()  # stricter is fine
    assert loosened(GateConfig(max_type_recall_drop=0.5)) == ("max_type_recall_drop 0.05 -> 0.5",)


def test_a_version_without_the_gates_pass_may_not_score():
    passed = {"gate.decision": "promote", "gate.evaluation_run_id": "run1", "gate.overridden": "false"}

    assert promotion_record_problems("3", "run1", passed, {"gate.decision": "promote"}) == []
    assert promotion_record_problems("4", "run4", {}, {})  # moved there by hand: never promoted
    assert promotion_record_problems("3", "run1", passed, {"gate.decision": "refuse"})  # its evaluation refused it
    assert promotion_record_problems("3", "run1", {**passed, "gate.evaluation_run_id": "run9"}, {})
    unexplained = {**passed, "gate.overridden": "true", "gate.override_reason": " "}
    assert promotion_record_problems("3", "run1", unexplained, {"gate.decision": "promote"})
