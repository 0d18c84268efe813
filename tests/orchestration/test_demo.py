"""`make demo` on data it has already run: the gate refuses the same model trained again, and the
champion stays and scores (orchestration/demo.py). Any other failure of `retrain` still stops it."""

from types import SimpleNamespace

from orchestration.defs.ml.assets import GATE_CHECK
from orchestration.demo import EVALUATION_STEP, refused_by_gate


class _Run:
    """The parts of a Dagster run result `refused_by_gate` reads."""

    def __init__(self, success: bool, failed_steps: list[str], checks: dict[str, bool]):
        self.success = success
        self._failed = [SimpleNamespace(step_key=step) for step in failed_steps]
        self._checks = [SimpleNamespace(check_name=name, passed=passed) for name, passed in checks.items()]

    def get_step_failure_events(self):
        return self._failed

    def get_asset_check_evaluations(self):
        return self._checks


def test_a_retrain_that_failed_only_at_the_gate_is_a_refusal():
    assert refused_by_gate(_Run(False, [EVALUATION_STEP], {GATE_CHECK: False, "other_check": True}))


def test_any_other_outcome_of_retrain_is_not_a_refusal():
    assert not refused_by_gate(_Run(True, [], {GATE_CHECK: True}))  # promoted
    # The evaluation step raised before the gate decided.
    assert not refused_by_gate(_Run(False, [EVALUATION_STEP], {}))
    assert not refused_by_gate(_Run(False, [EVALUATION_STEP], {GATE_CHECK: True}))
    # Another step failed too, or instead.
    assert not refused_by_gate(_Run(False, [EVALUATION_STEP, "ml__risk_model"], {GATE_CHECK: False}))
    assert not refused_by_gate(_Run(False, ["vigil_dbt_labels"], {}))
