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

# The superuser logs in through the container's Unix socket only (docker compose exec postgres psql -U
# postgres), never over the network, even where docker-compose.remote-workers.yml publishes the port:
# pg_hba.conf is read top down, so this line goes before the image's "host all all all scram-sha-256".
{
    echo "# facetasks: the superuser through the Unix socket only"
    echo "host all $POSTGRES_USER all reject"
    cat "$PGDATA/pg_hba.conf"
} > "$PGDATA/pg_hba.conf.facetasks"
mv "$PGDATA/pg_hba.conf.facetasks" "$PGDATA/pg_hba.conf"
