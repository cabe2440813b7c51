#!/bin/bash
# First start of the Postgres volume: the store's database, owned by the web app's role (the user store, triage,
# saved searches, takedown cases). The role owns only this database: it is not a superuser and
# cannot read Airflow's metadata.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set web_password="$WEB_DB_PASSWORD" --set pipeline_password="$PIPELINE_DB_PASSWORD" <<'SQL'
CREATE ROLE listingwatch_web LOGIN PASSWORD :'web_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE ROLE listingwatch_pipeline LOGIN PASSWORD :'pipeline_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE listingwatch OWNER listingwatch_web;
REVOKE ALL ON DATABASE listingwatch FROM PUBLIC;
GRANT CONNECT ON DATABASE listingwatch TO listingwatch_pipeline;
\connect listingwatch
-- The web app migrates the schema (it owns the tables); the pipeline (takedown checks, saved-search
-- counts, triage export) reads and writes rows but cannot change the schema.
ALTER DEFAULT PRIVILEGES FOR ROLE listingwatch_web IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO listingwatch_pipeline;
ALTER DEFAULT PRIVILEGES FOR ROLE listingwatch_web IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO listingwatch_pipeline;
GRANT USAGE ON SCHEMA public TO listingwatch_pipeline;
GRANT CREATE ON SCHEMA public TO listingwatch_web;
SQL
