-- Vigil on Snowflake: least-privilege roles, service users and grants. Reviewed like code;
-- run by an administrator once per environment (and again after any change: every statement
-- is idempotent). README, "Snowflake roles", says who uses which role.
--
-- Names: database VIGIL, warehouse VIGIL_WH. For another environment, replace them (and
-- nothing else) before running, e.g. `sed 's/\bVIGIL\b/VIGIL_STAGING/g'`.
--
-- Who writes what (each role owns the tables it creates; a table's stage, which Vigil's bulk
-- loads PUT files into, is usable only by the table's owner):
--   VIGIL_LOADER       ingestion (Dagster `ingest_landing_files`)   writes RAW, INGEST
--   VIGIL_TRANSFORMER  dbt (every dbt asset, the dbt CLI)           reads RAW, INGEST, RISK;
--                                                                    builds REFERENCE, STAGING, INTERMEDIATE, MARTS
--   VIGIL_SCORER       training set, scoring, enforcement sync      reads MARTS; writes RISK
--   VIGIL_REVERSE_ETL  the product's reverse-ETL (Hightouch, Census,
--                      ml/reverse_etl)                               reads RISK.ENFORCEMENT_SYNC only
--   VIGIL_DEVELOPER    people running dbt / Vigil on the `snowflake_dev` target:
--                      creates and owns its own `<schema>_*` schemas; no privilege on the ones above
-- Every schema has managed access: only its owner (SYSADMIN) grants on its objects, so a role
-- that owns a table cannot hand it to anyone else.

------------------------------------------------------------------------------------------
-- Part 1: before the first run
------------------------------------------------------------------------------------------
use role sysadmin;
create database if not exists VIGIL;
create warehouse if not exists VIGIL_WH warehouse_size = xsmall auto_suspend = 60 auto_resume = true
    initially_suspended = true;
create schema if not exists VIGIL.RAW with managed access;
create schema if not exists VIGIL.INGEST with managed access;
create schema if not exists VIGIL.REFERENCE with managed access;
create schema if not exists VIGIL.STAGING with managed access;
create schema if not exists VIGIL.INTERMEDIATE with managed access;
create schema if not exists VIGIL.MARTS with managed access;
create schema if not exists VIGIL.RISK with managed access;

use role securityadmin;
create role if not exists VIGIL_LOADER comment = 'Vigil ingestion: writes RAW and INGEST';
create role if not exists VIGIL_TRANSFORMER comment = 'Vigil dbt: reads RAW, INGEST, RISK; builds REFERENCE..MARTS';
create role if not exists VIGIL_SCORER comment = 'Vigil training and scoring: reads MARTS, writes RISK';
create role if not exists VIGIL_REVERSE_ETL comment = 'Reverse-ETL: reads RISK.ENFORCEMENT_SYNC only';
create role if not exists VIGIL_DEVELOPER comment = 'Vigil development targets: own <schema>_* schemas only';
-- Administrators manage what these roles create.
grant role VIGIL_LOADER to role sysadmin;
grant role VIGIL_TRANSFORMER to role sysadmin;
grant role VIGIL_SCORER to role sysadmin;
grant role VIGIL_REVERSE_ETL to role sysadmin;
grant role VIGIL_DEVELOPER to role sysadmin;

-- Every role: the database and the warehouse.
grant usage on database VIGIL to role VIGIL_LOADER;
grant usage on database VIGIL to role VIGIL_TRANSFORMER;
grant usage on database VIGIL to role VIGIL_SCORER;
grant usage on database VIGIL to role VIGIL_REVERSE_ETL;
grant usage on database VIGIL to role VIGIL_DEVELOPER;
grant usage on warehouse VIGIL_WH to role VIGIL_LOADER;
grant usage on warehouse VIGIL_WH to role VIGIL_TRANSFORMER;
grant usage on warehouse VIGIL_WH to role VIGIL_SCORER;
grant usage on warehouse VIGIL_WH to role VIGIL_REVERSE_ETL;
grant usage on warehouse VIGIL_WH to role VIGIL_DEVELOPER;

-- Loader: creates (and so owns) the raw tables, the ledger and the quarantine.
grant usage, create table on schema VIGIL.RAW to role VIGIL_LOADER;
grant usage, create table on schema VIGIL.INGEST to role VIGIL_LOADER;

-- Transformer: reads what the loader and the scorer write (dbt sources `marketplace`, `ingest`,
-- `risk`), now and in the future; builds its own four schemas (tables, and the temporary
-- views/tables of incremental models).
grant usage on schema VIGIL.RAW to role VIGIL_TRANSFORMER;
grant usage on schema VIGIL.INGEST to role VIGIL_TRANSFORMER;
grant usage on schema VIGIL.RISK to role VIGIL_TRANSFORMER;
grant select on all tables in schema VIGIL.RAW to role VIGIL_TRANSFORMER;
grant select on future tables in schema VIGIL.RAW to role VIGIL_TRANSFORMER;
grant select on all tables in schema VIGIL.INGEST to role VIGIL_TRANSFORMER;
grant select on future tables in schema VIGIL.INGEST to role VIGIL_TRANSFORMER;
grant select on all tables in schema VIGIL.RISK to role VIGIL_TRANSFORMER;
grant select on future tables in schema VIGIL.RISK to role VIGIL_TRANSFORMER;
grant usage, create table, create view on schema VIGIL.REFERENCE to role VIGIL_TRANSFORMER;
grant usage, create table, create view on schema VIGIL.STAGING to role VIGIL_TRANSFORMER;
grant usage, create table, create view on schema VIGIL.INTERMEDIATE to role VIGIL_TRANSFORMER;
grant usage, create table, create view on schema VIGIL.MARTS to role VIGIL_TRANSFORMER;

-- Scorer: reads the marts (features and labels), now and in the future (dbt re-creates tables);
-- creates (and so owns) the risk tables.
grant usage on schema VIGIL.MARTS to role VIGIL_SCORER;
grant select on all tables in schema VIGIL.MARTS to role VIGIL_SCORER;
grant select on future tables in schema VIGIL.MARTS to role VIGIL_SCORER;
grant select on all views in schema VIGIL.MARTS to role VIGIL_SCORER;
grant select on future views in schema VIGIL.MARTS to role VIGIL_SCORER;
grant usage, create table on schema VIGIL.RISK to role VIGIL_SCORER;

-- Reverse-ETL: the risk schema, and (part 2) its one table.
grant usage on schema VIGIL.RISK to role VIGIL_REVERSE_ETL;

-- Developers: their own schemas (the `snowflake_dev` target writes `<SNOWFLAKE_SCHEMA>_<name>`),
-- nothing of production. To develop on production-shaped data, an administrator clones it:
-- `create schema VIGIL.DBT_ALICE_RAW clone VIGIL.RAW; grant ownership on schema ... to role VIGIL_DEVELOPER;`
grant create schema on database VIGIL to role VIGIL_DEVELOPER;

-- Service users: key-pair only (TYPE = SERVICE has no password). Paste the public key of
-- SNOWFLAKE_PRIVATE_KEY_PATH (see Snowflake's key-pair guide) before running.
-- No secondary roles: a session has exactly the privileges of the role its component asked
-- for (SNOWFLAKE_LOADER_ROLE, ...), never the union of every role the user holds.
create user if not exists VIGIL_SVC type = service default_warehouse = VIGIL_WH
    rsa_public_key = '<paste the base64 public key here>'
    comment = 'Vigil pipeline (Dagster): loader, transformer and scorer, one role per session';
alter user VIGIL_SVC set default_secondary_roles = ();
grant role VIGIL_LOADER to user VIGIL_SVC;
grant role VIGIL_TRANSFORMER to user VIGIL_SVC;
grant role VIGIL_SCORER to user VIGIL_SVC;

create user if not exists VIGIL_REVERSE_ETL_SVC type = service default_warehouse = VIGIL_WH
    default_role = VIGIL_REVERSE_ETL rsa_public_key = '<paste the base64 public key here>'
    comment = 'Reverse-ETL tool reading the enforcement sync table';
alter user VIGIL_REVERSE_ETL_SVC set default_secondary_roles = ();
grant role VIGIL_REVERSE_ETL to user VIGIL_REVERSE_ETL_SVC;

------------------------------------------------------------------------------------------
-- Part 2: once, after the first scoring run has created the risk tables (a future grant
-- cannot name one table, and the reader must see nothing else of RISK).
------------------------------------------------------------------------------------------
use role securityadmin;
grant select on table VIGIL.RISK.ENFORCEMENT_SYNC to role VIGIL_REVERSE_ETL;
