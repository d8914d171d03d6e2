# Throwaway PostgreSQL cluster for tests and local runs. Source this file, then:
#   kych_pg_start   -> starts a cluster in a temp dir, exports KYCH_PG_* and KYCH_TEST_DATABASE_URL
#   kych_pg_stop    -> stops it and removes the temp dir (safe to call twice)
# The cluster listens on loopback and on a Unix socket in its own directory. fsync is off (tests only)
# unless KYCH_PG_FSYNC=on (benchmarks).

kych_pg_install() {
  if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    echo "==> installing PostgreSQL from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
  fi
}

kych_pg_start() {
  kych_pg_install
  KYCH_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  KYCH_PG_ROOT=$(mktemp -d /tmp/kych-pg.XXXXXX)
  KYCH_PG_PORT=${KYCH_PG_PORT:-$(( 20000 + RANDOM % 20000 ))}
  local run=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$KYCH_PG_ROOT"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$KYCH_PG_BIN/initdb" -D "$KYCH_PG_ROOT/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$KYCH_PG_ROOT/initdb.log" 2>&1 \
    || { cat "$KYCH_PG_ROOT/initdb.log" >&2; return 1; }
  "${run[@]}" "$KYCH_PG_BIN/pg_ctl" -D "$KYCH_PG_ROOT/data" -l "$KYCH_PG_ROOT/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $KYCH_PG_PORT -k $KYCH_PG_ROOT -c fsync=${KYCH_PG_FSYNC:-off} -c max_connections=1000" start >/dev/null \
    || { cat "$KYCH_PG_ROOT/log" >&2; return 1; }
  "$KYCH_PG_BIN/pg_isready" -q -h "$KYCH_PG_ROOT" -p "$KYCH_PG_PORT" || { echo "PostgreSQL did not start" >&2; return 1; }
  export KYCH_PG_BIN KYCH_PG_ROOT KYCH_PG_PORT
  export PATH="$KYCH_PG_BIN:$PATH"
  export PGHOST="$KYCH_PG_ROOT" PGPORT="$KYCH_PG_PORT" PGUSER=postgres
  export KYCH_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$KYCH_PG_PORT/postgres"
  echo "==> PostgreSQL running on 127.0.0.1:$KYCH_PG_PORT (socket dir $KYCH_PG_ROOT)" >&2
}

kych_pg_stop() {
  [ -n "${KYCH_PG_ROOT:-}" ] && [ -d "$KYCH_PG_ROOT" ] || return 0
  local run=()
  [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
  "${run[@]}" "$KYCH_PG_BIN/pg_ctl" -D "$KYCH_PG_ROOT/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$KYCH_PG_ROOT"
  KYCH_PG_ROOT=
}
