"""The one place the dbt project is wired into Dagster."""

from pathlib import Path

from dagster_dbt import DbtProject

from ml import settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"

vigil_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=settings.dbt_target(),
)
# Under `dagster dev` re-parse on load so SQL edits show up; deployments (and `make`) run
# `dagster-dbt project prepare-and-package` instead.
vigil_dbt_project.prepare_if_dev()
