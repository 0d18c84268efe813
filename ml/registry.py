"""MLflow tracking and model registry for the risk model.

Local default: a SQLite backend file and an artifact folder under the data folder; any other
tracking server via MLFLOW_TRACKING_URI. Every model version is registered under one name, and
two aliases say which is which: `challenger` (the newest trained) and `champion` (the one the
promotion gate let through). Scoring loads `models:/<name>@champion` and nothing else.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

import numpy as np
import pandas as pd

from ml.gate import promotion_record_problems
from ml.monitor.reference import TrainingReference
from ml.policy import SIDE_COLUMN, DecisionPolicy
from ml.redact import redact_uri
from ml.score.rules import matched, rules_on_inputs
from ml.train.model import RiskModel

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

CHALLENGER = "challenger"
CHAMPION = "champion"
MODEL_ARTIFACT = "model"
REFERENCE_ARTIFACT = "training_reference"
DEFAULT_EXPERIMENT = "vigil-account-risk"
DEFAULT_MODEL_NAME = "vigil_account_risk"
# Artifact copies are local and small; the per-file progress bars only clutter run logs.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def _load_context(self, context) -> None:
    self.model = RiskModel.load(Path(context.artifacts["risk_model"]))
    self.policy = DecisionPolicy.from_dict(json.loads(Path(context.artifacts["policy"]).read_text()))
    reference = context.artifacts.get(REFERENCE_ARTIFACT)
    self.reference = TrainingReference.load(Path(reference)) if reference else None


def _predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
    probability = self.model.predict_proba(model_input)
    ruled = matched(model_input, rules_on_inputs(self.model.features))
    band = self.policy.band(probability, model_input.get(SIDE_COLUMN), ruled)
    return pd.DataFrame({"probability": probability, "band": band})


_PYFUNC_DOC = """The risk model as an MLflow pyfunc: calibrated probability and policy band per row (with
    the daily rules that read only model features: `ml.score.rules.rules_on_inputs`).

    Its artifacts are the booster (XGBoost JSON), the calibration, the decision policy and the
    training reference the drift checks compare with (`ml.monitor.reference`; versions logged
    before it existed have none), all plain JSON; loading needs this package (`ml`) importable,
    as in every Vigil process. Its signature takes every feature as a double: cast count columns
    (int64) before `predict`.
    """


def _pyfunc_class() -> type:
    """`RiskModelPyfunc`, a subclass of MLflow's `PythonModel`, made on first use: importing
    MLflow takes seconds, which every Dagster run would pay loading its definitions. It is kept
    as `ml.registry.RiskModelPyfunc`, the name the logged models' pickles refer to."""
    made = globals().get("RiskModelPyfunc")
    if made is None:
        import mlflow.pyfunc

        methods = {"__module__": __name__, "__doc__": _PYFUNC_DOC, "load_context": _load_context, "predict": _predict}
        globals()["RiskModelPyfunc"] = made = type("RiskModelPyfunc", (mlflow.pyfunc.PythonModel,), methods)
    return made


def __getattr__(name: str):
    """`ml.registry.RiskModelPyfunc` on first access (PEP 562): how a fresh process loading a
    logged version finds the class its pickle names."""
    if name == "RiskModelPyfunc":
        return _pyfunc_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class UngatedChampionError(RuntimeError):
    """The version behind `@champion` was not passed by the promotion gate."""


@dataclass(frozen=True)
class RegisteredModel:
    """A model version loaded from the registry, with what scoring and evaluation need."""

    model: RiskModel
    policy: DecisionPolicy
    name: str
    version: str
    run_id: str
    tags: dict[str, str]
    reference: TrainingReference | None = None  # None for versions logged before references existed


def local_tracking_uri(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"


def without_http_credentials(uri: str) -> str:
    """An http(s) tracking URI with `user:password@` becomes the URI without them, and the
    credentials go to MLflow's own MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD.

    MLflow quotes the URI it was given in its error messages ("API request to <uri>/... failed")
    and in the run links it prints: once a message reaches a Dagster event log, so would the
    password. Database URIs (postgresql://user:pw@...) keep theirs: SQLAlchemy masks it.
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return uri
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    for var, value in (("MLFLOW_TRACKING_USERNAME", unquote(user)), ("MLFLOW_TRACKING_PASSWORD", unquote(password))):
        if os.environ.get(var, value) != value:
            raise ValueError(f"the tracking URI's credentials differ from {var}: set them in one place only")
        os.environ[var] = value
    return urlunsplit(parts._replace(netloc=host))


class ModelRegistry:
    """Tracking runs and registered versions of one risk model."""

    def __init__(
        self,
        tracking_uri: str,
        artifact_root: Path | None = None,
        experiment: str = DEFAULT_EXPERIMENT,
        model_name: str = DEFAULT_MODEL_NAME,
    ):
        self.tracking_uri = without_http_credentials(tracking_uri)
        self.artifact_root = artifact_root
        self.experiment = experiment
        self.model_name = model_name
        if tracking_uri.startswith("sqlite:///"):
            Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        from mlflow import MlflowClient  # on use: Dagster's definitions load without it

        self.client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    @classmethod
    def from_env(cls, data_dir: Path, **overrides) -> ModelRegistry:
        """MLFLOW_TRACKING_URI if set (its server decides where artifacts go), else the local store."""
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if uri:
            return cls(uri, None, **overrides)
        return cls(local_tracking_uri(data_dir), data_dir / "mlflow" / "artifacts", **overrides)

    def activate(self) -> None:
        """Point MLflow's fluent API (mlflow.*) at this store."""
        import mlflow

        configured = os.environ.get("MLFLOW_TRACKING_URI")
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        # set_tracking_uri also exports MLFLOW_TRACKING_URI (for subprocesses): put back what
        # the user configured, so that `from_env` keeps meaning the user's setting.
        if configured is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = configured

    @property
    def display_uri(self) -> str:
        """The tracking URI without its credentials: the only form to show or record anywhere."""
        return redact_uri(self.tracking_uri)

    def model_uri(self, alias: str) -> str:
        return f"models:/{self.model_name}@{alias}"

    def experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            return found.experiment_id
        location = self.artifact_root.resolve().as_uri() if self.artifact_root else None
        return self.client.create_experiment(self.experiment, artifact_location=location)

    @contextmanager
    def run(
        self, run_id: str | None = None, run_name: str | None = None, tags: dict[str, str] | None = None
    ) -> Iterator[str]:
        """An active MLflow run (a new one, or `run_id` resumed) for the fluent logging calls."""
        import mlflow

        self.activate()
        with mlflow.start_run(
            run_id=run_id, experiment_id=None if run_id else self.experiment_id(), run_name=run_name, tags=tags
        ) as active:
            yield active.info.run_id

    def log_model(
        self,
        model: RiskModel,
        policy: DecisionPolicy,
        input_example: pd.DataFrame,
        reference: TrainingReference | None = None,
    ) -> str:
        """Log the model (with signature, input example and its training reference) into the
        active run, register it as a new version of the model name, and point `challenger` at
        it. Returns the version."""
        import mlflow
        import sklearn
        import xgboost
        from mlflow.models import infer_signature

        example = input_example[model.features].astype("float64").reset_index(drop=True)
        with tempfile.TemporaryDirectory() as folder:
            model_dir, policy_file = Path(folder) / "risk_model", Path(folder) / "policy.json"
            model.save(model_dir)
            policy_file.write_text(json.dumps(policy.to_dict(), indent=2))
            artifacts = {"risk_model": str(model_dir), "policy": str(policy_file)}
            if reference is not None:
                artifacts[REFERENCE_ARTIFACT] = str(reference.save(Path(folder) / "training_reference.json"))
            probability = model.predict_proba(example)
            ruled = matched(example, rules_on_inputs(model.features))
            output = pd.DataFrame(
                {"probability": probability, "band": policy.band(probability, example.get(SIDE_COLUMN), ruled)}
            )
            info = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT,
                python_model=_pyfunc_class()(),
                artifacts=artifacts,
                signature=infer_signature(example, output),
                input_example=example,
                registered_model_name=self.model_name,
                pip_requirements=[
                    f"xgboost=={xgboost.__version__}",
                    f"scikit-learn=={sklearn.__version__}",
                    f"pandas=={pd.__version__}",
                    f"numpy=={np.__version__}",
                ],
            )
        version = str(info.registered_model_version)
        self.client.set_registered_model_alias(self.model_name, CHALLENGER, version)
        return version

    def _by_alias(self, alias: str):
        """The ModelVersion behind `alias`, None when the model or the alias does not exist;
        any other failure (a locked store, a server error) is raised, never read as "no model"."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(self.model_name, alias)
        except MlflowException as error:
            missing_model = error.error_code == "RESOURCE_DOES_NOT_EXIST"
            missing_alias = error.error_code == "INVALID_PARAMETER_VALUE" and f"alias {alias} not found" in str(error)
            if missing_model or missing_alias:
                return None
            raise

    def version_of(self, alias: str) -> str | None:
        version = self._by_alias(alias)
        return None if version is None else str(version.version)

    def load(self, alias: str) -> RegisteredModel | None:
        """The version behind `alias` (e.g. `champion`), or None when the alias is not set."""
        version = self._by_alias(alias)
        return None if version is None else self._load(version)

    def load_champion(self) -> RegisteredModel:
        """The version behind `@champion`, verified first: it must carry the promotion gate's
        pass (or a recorded override). Raises LookupError without a champion and
        UngatedChampionError for a version the gate never passed (an alias moved by hand)."""
        version = self._by_alias(CHAMPION)
        if version is None:
            raise LookupError(f"no `{CHAMPION}` version of {self.model_name}: run the `retrain` job first")
        tags = dict(version.tags)
        evaluation = tags.get("gate.evaluation_run_id")
        run_tags = self.client.get_run(evaluation).data.tags if evaluation == version.run_id else {}
        problems = promotion_record_problems(str(version.version), version.run_id, tags, run_tags)
        if problems:
            raise UngatedChampionError(
                f"refusing to score with {self.model_name}@{CHAMPION} (v{version.version}): "
                + "; ".join(problems)
                + ". Point the alias back at a gated version, or promote through the gate (ml/champion_model,"
                " with an override_reason if it must)."
            )
        return self._load(version)

    def load_version(self, version: str) -> RegisteredModel:
        """One version by number, e.g. the `model_version` of a stored score row: the alias may
        have moved since. Raises MlflowException when the version does not exist."""
        return self._load(self.client.get_model_version(self.model_name, str(version)))

    def _load(self, version: ModelVersion) -> RegisteredModel:
        import mlflow

        self.activate()
        # By version, not by alias again: a promotion in between must not mix two versions.
        uri = f"models:/{self.model_name}/{version.version}"
        pyfunc = mlflow.pyfunc.load_model(uri).unwrap_python_model()
        return RegisteredModel(
            model=pyfunc.model,
            policy=pyfunc.policy,
            name=self.model_name,
            version=str(version.version),
            run_id=version.run_id,
            tags=dict(version.tags),
            reference=getattr(pyfunc, "reference", None),
        )

    def promote(self, version: str, tags: dict[str, str]) -> None:
        """Point `champion` at `version` and record why on the version."""
        for key, value in tags.items():
            self.client.set_model_version_tag(self.model_name, version, key, value)
        self.client.set_registered_model_alias(self.model_name, CHAMPION, version)
