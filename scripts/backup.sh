#!/usr/bin/env bash
# Back up the database named by DATABASE_URL to FILE (pg_dump custom format: compressed,
# restorable table by table). Usage: DATABASE_URL=postgresql://... scripts/backup.sh FILE
set -euo pipefail
: "${DATABASE_URL:?set DATABASE_URL}"
out=${1:?usage: backup.sh FILE}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# --no-owner/--no-acl: the dump restores into a database owned by whoever restores it.
"$PG_BIN/pg_dump" --format=custom --no-owner --no-acl --file="$out" "${DATABASE_URL/postgresql+psycopg:/postgresql:}"
echo "backup: $out ($(stat -c %s "$out") bytes)"
