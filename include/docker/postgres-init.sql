-- Second database of the one PostgreSQL server in docker-compose.yaml.
--
-- The postgres image runs every *.sql file in /docker-entrypoint-initdb.d once, when the
-- data directory is still empty (first `docker compose up`), as POSTGRES_USER connected
-- to POSTGRES_DB (= "airflow", the Airflow metadata database). Later edits of this file
-- do nothing to an existing volume: run the statements by hand with
--   docker compose exec postgres psql -U "$POSTGRES_USER" -d airflow
--
-- No passwords here: the server's superuser and its password come from .env
-- (POSTGRES_USER / POSTGRES_PASSWORD); AIRFLOW_CONN_MONITOR_WAREHOUSE points at the
-- database created below.

-- "monitor": the warehouse of validated quarterly figures. Kept apart from the Airflow
-- metadata so that `airflow db clean`/migrations and the warehouse never touch each other.
CREATE DATABASE monitor
    WITH ENCODING 'UTF8'
         TEMPLATE template0;

COMMENT ON DATABASE monitor IS
    'Veilig Thuis monitor Groningen: validated partner deliveries and quarterly figures';

-- Only roles that are granted CONNECT explicitly (and the owner) may connect.
REVOKE CONNECT, TEMPORARY ON DATABASE monitor FROM PUBLIC;

\connect monitor
-- PostgreSQL 15+ already denies CREATE on schema public to PUBLIC; say so explicitly.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
