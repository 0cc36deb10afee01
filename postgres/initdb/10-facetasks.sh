#!/bin/sh
# Runs once, when the postgres container initialises an empty data directory: the role the service
# connects as, owning its database, with the password from FACETASKS_DB_PASSWORD. It is not a
# superuser and cannot create databases or roles. To change its password later, see the README.
set -eu
: "${FACETASKS_DB_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v password="$FACETASKS_DB_PASSWORD" <<'SQL'
CREATE ROLE facetasks LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
CREATE DATABASE facetasks OWNER facetasks;
REVOKE ALL ON DATABASE facetasks FROM PUBLIC;
SQL
