#!/bin/sh
# The test suite's stand-in for the official PostgreSQL image (which it cannot pull): the same
# variables (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA), built by
# tests/e2e/containers.py from this machine's Debian PostgreSQL. Shell built-ins only: the
# image holds no other program.
set -e
PGDATA=${PGDATA:-/var/lib/postgresql/data}
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\n' "$POSTGRES_PASSWORD" | initdb -D "$PGDATA" -U "$user" --pwfile=/dev/stdin \
    --auth=scram-sha-256 --no-locale -E UTF8 >/dev/null
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "unix_socket_directories = '/tmp'" >> "$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    echo "CREATE DATABASE \"$db\"" | postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
fi
exec postgres -D "$PGDATA"
