"""Under `dagster dev` the definitions parse the dbt project again only when a file the parse
reads changed after the manifest was written (orchestration/defs/dbt/project.py)."""

import os

from orchestration.defs.dbt.project import manifest_is_stale


def _project(tmp_path):
    (tmp_path / "models" / "staging").mkdir(parents=True)
    (tmp_path / "macros").mkdir()
    (tmp_path / "dbt_project.yml").write_text("name: p\n")
    (tmp_path / "models" / "staging" / "a.sql").write_text("select 1")
    (tmp_path / "models" / "staging" / "b.sql").write_text("select 2")
    manifest = tmp_path / "target" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text("{}")
    later = os.stat(manifest).st_mtime + 10
    os.utime(manifest, (later, later))  # written after every file of the project
    return manifest, later


def _touch(path, when):
    os.utime(path, (when, when))


def test_no_manifest_is_stale(tmp_path):
    assert manifest_is_stale(tmp_path, tmp_path / "target" / "manifest.json")


def test_a_manifest_newer_than_the_project_is_kept(tmp_path):
    manifest, later = _project(tmp_path)
    assert not manifest_is_stale(tmp_path, manifest)
    (tmp_path / "target" / "run_results.json").write_text("{}")  # what dbt writes itself
    _touch(tmp_path / "target" / "run_results.json", later + 5)
    assert not manifest_is_stale(tmp_path, manifest)


def test_an_edited_model_makes_it_stale(tmp_path):
    manifest, later = _project(tmp_path)
    _touch(tmp_path / "models" / "staging" / "a.sql", later + 5)
    assert manifest_is_stale(tmp_path, manifest)


def test_a_removed_model_makes_it_stale(tmp_path):
    manifest, later = _project(tmp_path)
    for path in (tmp_path / "models", tmp_path / "models" / "staging", *(tmp_path / "models").rglob("*")):
        _touch(path, later - 5)
    (tmp_path / "models" / "staging" / "b.sql").unlink()  # its folder's time moves to now
    _touch(tmp_path / "models" / "staging", later + 5)
    assert manifest_is_stale(tmp_path, manifest)


def test_an_edited_project_file_makes_it_stale(tmp_path):
    manifest, later = _project(tmp_path)
    _touch(tmp_path / "dbt_project.yml", later + 5)
    assert manifest_is_stale(tmp_path, manifest)
