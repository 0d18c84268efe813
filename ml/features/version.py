"""Which feature logic produced a feature row: a digest of the SQL that defines the features."""

from __future__ import annotations

import hashlib
import json
from typing import Any

# The one definition both the daily mart and the intraday rows inline (models/intermediate/features).
DEFINITION = "int_features_joined"


def feature_version(manifest: dict[str, Any], project_vars: dict[str, Any], model: str = DEFINITION) -> str:
    """`features@<digest>`: sha256 over the checksums of `model` and every model and seed it
    reads, directly or not (the feature families, the tiles, staging), the text of the project
    macros they call, and the project's vars (`dbt_project.yml`; thresholds such as
    `high_value_order_usd` change features without changing any SQL file). A change to any of
    them changes the version; daily and intraday scores computed from the same definitions
    carry the same version."""
    nodes = manifest["nodes"]
    roots = [uid for uid, n in nodes.items() if n["resource_type"] == "model" and n["name"] == model]
    if not roots:
        raise LookupError(
            f"model {model} is not in the dbt manifest: it is stale or from another project"
            " (rebuild it: `make install` then `dagster-dbt project prepare-and-package`, as `make demo` does)"
        )
    (root,) = roots
    project = nodes[root]["package_name"]
    seen, todo, macros = set(), [root], set()
    while todo:
        uid = todo.pop()
        if uid in seen:
            continue
        seen.add(uid)
        node = nodes[uid]
        macros.update(m for m in node["depends_on"].get("macros", []) if m.startswith(f"macro.{project}."))
        todo.extend(p for p in node["depends_on"].get("nodes", []) if p in nodes and nodes[p]["resource_type"] in _READ)
    digest = hashlib.sha256()
    for uid in sorted(seen):
        digest.update(f"{uid}:{nodes[uid]['checksum']['checksum']}\n".encode())
    for uid in sorted(_with_called_macros(manifest, macros)):
        digest.update(f"{uid}:{manifest['macros'][uid]['macro_sql']}\n".encode())
    digest.update(json.dumps(project_vars, sort_keys=True, default=str).encode())
    return f"features@{digest.hexdigest()[:12]}"


_READ = ("model", "seed")


def _with_called_macros(manifest: dict[str, Any], macros: set[str]) -> set[str]:
    found, todo = set(), list(macros)
    while todo:
        uid = todo.pop()
        if uid in found or uid not in manifest["macros"]:
            continue
        found.add(uid)
        called = manifest["macros"][uid]["depends_on"]["macros"]
        todo.extend(m for m in called if m.startswith(uid.rsplit(".", 1)[0] + "."))
    return found
