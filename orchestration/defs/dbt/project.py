"""The one place the dbt project is wired into Dagster."""

from pathlib import Path

from dagster_dbt import DbtProject

from ml import settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"

# What dbt parses into the manifest (dbt_project.yml's paths, its settings and profiles).
PARSED_FOLDERS = ("models", "macros", "seeds", "tests")
PARSED_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "dependencies.yml")


def manifest_is_stale(project_dir: Path, manifest: Path) -> bool:
    """Whether the manifest is missing or a file the parse reads changed after it was written
    (a folder's time too: a file removed)."""
    if not manifest.exists():
        return True
    written = manifest.stat().st_mtime
    paths = [project_dir / name for name in PARSED_FILES]
    for folder in PARSED_FOLDERS:
        paths += [project_dir / folder, *(project_dir / folder).rglob("*")]
    return any(path.exists() and path.stat().st_mtime > written for path in paths)


vigil_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=settings.dbt_target(),
)
# Under `dagster dev`, parse again on load when the project changed since the manifest was
# written, so SQL edits show up. Not on every load: every process that loads the definitions,
# each run's included, would run `dbt parse` (13 s of each near-real-time batch under
# `make live`). Deployments (and `make`) run `dagster-dbt project prepare-and-package` instead.
# (Checked under `dagster dev` only: elsewhere nothing is parsed, so nothing is scanned.)
if vigil_dbt_project.preparer.using_dagster_dev() and manifest_is_stale(
    DBT_PROJECT_DIR, vigil_dbt_project.manifest_path
):
    vigil_dbt_project.prepare_if_dev()
