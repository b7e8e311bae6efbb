#!/usr/bin/env bash
# Restore FILE (from scripts/backup.sh) into the EMPTY database named by DATABASE_URL, then
# bring its schema up to date. Usage: DATABASE_URL=postgresql://... scripts/restore.sh FILE
set -euo pipefail
: "${DATABASE_URL:?set DATABASE_URL}"
in=${1:?usage: restore.sh FILE}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# --single-transaction: a restore that fails leaves the database as empty as it was.
"$PG_BIN/pg_restore" --no-owner --no-acl --single-transaction --exit-on-error \
  --dbname="${DATABASE_URL/postgresql+psycopg:/postgresql:}" "$in"
echo "restore: $in restored"
