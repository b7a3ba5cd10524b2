#!/bin/sh
# PostgreSQL for the demo stack: initialise the data folder once (roles, database, schema), then run
# as the postgres user on 127.0.0.1 only. Passwords come from the stack's env file (mounted read-only),
# are fed to psql on stdin, and so never appear in a process listing or a log.
set -eu
. /run/gameday/stack.env
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
ROOT=/var/lib/gameday/postgres
DATA=$ROOT/data
SOCK=/tmp/pgsock
mkdir -p "$DATA" "$SOCK"
chown -R postgres:postgres "$ROOT" "$SOCK"
chmod 700 "$DATA"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

if [ ! -s "$DATA/PG_VERSION" ]; then
    as_postgres "$PGBIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    as_postgres "$PGBIN/pg_ctl" -D "$DATA" -o "-c listen_addresses='' -k $SOCK" -w -s start
    as_postgres "$PGBIN/psql" -h "$SOCK" -U postgres -d postgres -v ON_ERROR_STOP=1 -q <<SQL
\set admin_pw '$GAMEDAY_DEMO_PG_ADMIN_PASSWORD'
\set checkout_pw '$GAMEDAY_DEMO_PG_CHECKOUT_PASSWORD'
\i /opt/gameday/postgres/init.sql
SQL
    as_postgres "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -s stop
fi

exec setpriv --reuid=postgres --regid=postgres --init-groups "$PGBIN/postgres" -D "$DATA" \
    -c listen_addresses=127.0.0.1 -c port="$GAMEDAY_DEMO_POSTGRES_PORT" -c unix_socket_directories="$SOCK" \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB \
    -c max_connections=100 -c log_min_messages=warning -c log_connections=off
