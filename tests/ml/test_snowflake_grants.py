"""warehouse/snowflake/grants.sql gives each role exactly what its component needs.

The emulator has no access control, so the reviewed script is checked as data: which role may
read or create what, in which schema, now and in the future.
"""

import re
from collections import defaultdict
from pathlib import Path

import pytest

from ml.warehouse import Role

GRANTS = Path(__file__).resolve().parents[2] / "warehouse" / "snowflake" / "grants.sql"
WRITE = {"create table", "create view", "insert", "update", "delete", "ownership"}


def _statements() -> list[str]:
    text = "\n".join(line.split("--", 1)[0] for line in GRANTS.read_text().splitlines())
    return [" ".join(s.split()).lower() for s in text.split(";") if s.strip()]


def _privileges() -> dict[str, set[tuple[str, str]]]:
    """role -> {(privilege, object)} from `grant <privileges> on <object> to role <role>`."""
    granted: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for statement in _statements():
        found = re.fullmatch(r"grant (.+?) on (.+?) to role (\w+)", statement)
        if found:
            privileges, on, role = found.groups()
            granted[role] |= {(p.strip(), on) for p in privileges.split(",")}
    return granted


def _schemas(privileges: set[tuple[str, str]], wanted: set[str]) -> set[str]:
    """Schemas named in the grants whose privilege is one of `wanted`."""
    schemas = set()
    for privilege, on in privileges:
        found = re.search(r"schema vigil\.(\w+)", on) or re.fullmatch(r"table vigil\.(\w+)\.\w+", on)
        if found and privilege in wanted:
            schemas.add(found.group(1))
    return schemas


@pytest.mark.parametrize("role", list(Role))
def test_every_component_role_exists(role):
    assert f"create role if not exists vigil_{role.value}" in " ".join(_statements())


def test_each_schema_is_written_by_exactly_one_role():
    granted = _privileges()

    writers = {role: _schemas(privileges, WRITE) for role, privileges in granted.items()}

    assert writers["vigil_loader"] == {"raw", "ingest"}
    assert writers["vigil_transformer"] == {"reference", "staging", "intermediate", "marts"}
    assert writers["vigil_scorer"] == {"risk"}
    assert writers["vigil_reverse_etl"] == set()
    assert writers["vigil_developer"] == set()  # its own schemas only, through `create schema`


def test_reads_are_granted_for_tables_that_exist_and_for_future_ones():
    granted = _privileges()

    for role, schemas in {
        "vigil_transformer": {"raw", "ingest", "risk"},
        "vigil_scorer": {"marts"},
    }.items():
        for schema in schemas:
            assert ("select", f"all tables in schema vigil.{schema}") in granted[role], (role, schema)
            assert ("select", f"future tables in schema vigil.{schema}") in granted[role], (role, schema)
    assert _schemas(granted["vigil_loader"], {"select"}) == set()


def test_the_reverse_etl_reader_sees_only_the_sync_table():
    reader = _privileges()["vigil_reverse_etl"]

    assert {on for privilege, on in reader if privilege == "select"} == {"table vigil.risk.enforcement_sync"}
    assert {(p, on) for p, on in reader if p != "select"} == {
        ("usage", "database vigil"),
        ("usage", "warehouse vigil_wh"),
        ("usage", "schema vigil.risk"),
    }


def test_schemas_have_managed_access_and_service_users_no_secondary_roles_or_password():
    statements = _statements()
    schemas = [s for s in statements if s.startswith("create schema")]
    users = re.findall(r"create user if not exists (\w+)", " ; ".join(statements))

    assert len(schemas) == 7 and all(s.endswith("with managed access") for s in schemas)
    assert users and all(f"alter user {u} set default_secondary_roles = ()" in statements for u in users)
    assert all("type = service" in s for s in statements if s.startswith("create user"))
    assert not any("password" in s for s in statements)
