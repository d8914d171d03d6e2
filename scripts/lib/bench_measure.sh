# Measuring helpers of scripts/bench (sourced after scripts/lib/postgres.sh). Each run prints one line of
# name=value pairs (kych-bench's format: ops errors seconds ops_per_s p50_ms p99_ms bench_cpu_ms_per_op);
# bench_run adds the CPU the gateways ($GW_PID, one or more pids) and PostgreSQL spent meanwhile and appends a row to $OUT/results.tsv.

CLK_TCK=$(getconf CLK_TCK)

# pg_stat_statements needs a preload: set it and restart the throwaway cluster (pg_ctl keeps its other options).
bench_pg_enable_statements() {
  local run=()
  [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
  psql -q -d postgres -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
  "${run[@]}" "$KYCH_PG_BIN/pg_ctl" -D "$KYCH_PG_ROOT/data" -w -m fast restart >/dev/null
  psql -q -d postgres -c "CREATE EXTENSION pg_stat_statements"
}

# utime+stime of the processes, in clock ticks (a process gone meanwhile counts nothing).
bench_ticks() {
  local pid total=0 fields
  for pid in "$@"; do
    fields=$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null) || continue
    total=$(( total + $(awk '{print $12 + $13}' <<<"$fields") ))
  done
  echo "$total"
}

# The postmaster and all its children (backends, writers, autovacuum).
bench_pg_pids() {
  local postmaster
  postmaster=$(head -1 "$KYCH_PG_ROOT/data/postmaster.pid")
  echo "$postmaster" $(pgrep -P "$postmaster")
}

bench_results_header() {
  printf 'backend\trun\tconcurrency\tops\terrors\tops_per_s\tp50_ms\tp99_ms\tgateway_cpu_ms_per_op\tpostgres_cpu_ms_per_op\tbench_cpu_ms_per_op\n'
}

# bench_run BACKEND RUN CONCURRENCY COMMAND…: runs COMMAND, measures the server CPU around it, appends a row.
# BENCH_NO_SERVER=1: no gateway to measure (the ceilings).
bench_run() {
  local backend=$1 run=$2 concurrency=$3; shift 3
  local gw_before=0 pg_before pg_after gw_after=0 line
  [ -z "${BENCH_NO_SERVER:-}" ] && gw_before=$(bench_ticks $GW_PID)
  pg_before=$(bench_ticks $(bench_pg_pids))
  local perf_pid= perf_out="$OUT/perf-stat.$$.txt"
  if [ -n "${KYCH_BENCH_INSTRUCTIONS:-}" ] && [ -z "${BENCH_NO_SERVER:-}" ]; then
    perf stat -e instructions -x, -o "$perf_out" -p "$(tr ' ' , <<<"$GW_PID")" 2>/dev/null &
    perf_pid=$!
  fi
  line=$("$@" | tail -1)
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
  pg_after=$(bench_ticks $(bench_pg_pids))
  [ -z "${BENCH_NO_SERVER:-}" ] && gw_after=$(bench_ticks $GW_PID)
  local -A f=()
  local pair
  for pair in $line; do f[${pair%%=*}]=${pair#*=}; done
  local ops=${f[ops]:-0}
  per_op() { [ "$ops" -gt 0 ] && awk -v t="$1" -v n="$ops" -v hz="$CLK_TCK" 'BEGIN {printf "%.3f", t * 1000 / hz / n}' || echo nan; }
  local gw=- pg=-
  [ -z "${BENCH_NO_SERVER:-}" ] && gw=$(per_op $(( gw_after - gw_before )))
  # pgbench's backends exit before the second reading: PostgreSQL's CPU is known for the gateway's pool only.
  case $backend in postgres|instances-*|sessions-*) pg=$(per_op $(( pg_after - pg_before ))) ;; esac
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$run" "$concurrency" "$ops" "${f[errors]:-?}" \
    "${f[ops_per_s]:-?}" "${f[p50_ms]:-?}" "${f[p99_ms]:-?}" "$gw" "$pg" "${f[bench_cpu_ms_per_op]:--}" | tee -a "$OUT/results.tsv" >&2
  # KYCH_BENCH_INSTRUCTIONS=1: the server's instructions per operation (perf stat), which a loaded machine barely changes.
  if [ -n "$perf_pid" ] && [ "$ops" -gt 0 ]; then
    awk -F, -v n="$ops" -v run="$backend $run $concurrency" '$3 ~ /instructions/ { if ($1 ~ /^[0-9]/) printf "%s: %.0f thousand server instructions per operation\n", run, $1 / n / 1000;
                                 else printf "%s: instructions not counted (perf: %s)\n", run, $1 }' \
      "$perf_out" | tee -a "$OUT/instructions.txt" >&2
    rm -f "$perf_out"
  fi
}

# bench_wrk CONNECTIONS SECONDS URL: GET URL with wrk (2 threads); kych-bench's line format.
bench_wrk() {
  local out
  out=$(wrk -t2 -c"$1" -d"$2s" --latency "$3")
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    / requests in / { ops = $1; secs = $5; sub(/s,?$/, "", secs) }
    /Non-2xx/ { errors += $NF }
    /Socket errors/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    /Requests\/sec/ { rate = $2 }
    END { printf "ops=%d errors=%d seconds=%s ops_per_s=%s p50_ms=%.2f p99_ms=%.2f\n", ops, errors, secs, rate, p50, p99 }
  ' <<<"$out"
}

# bench_pgbench CLIENTS SECONDS SCRIPT DATABASE: pgbench with a custom script, latencies from its transaction log.
bench_pgbench() {
  local dir
  dir=$(mktemp -d "$WORK/pgbench.XXXXXX")
  (cd "$dir" && pgbench -n -c "$1" -j 2 -T "$2" -f "$3" -l --log-prefix="$dir/log" "$4" >"$dir/out" 2>&1) \
    || { cat "$dir/out" >&2; return 1; }
  cat "$dir"/log* | awk '{ print $3 / 1000 }' | sort -n | awk -v secs="$2" '
    { v[NR] = $1 } END { printf "ops=%d errors=0 seconds=%s ops_per_s=%.1f p50_ms=%.2f p99_ms=%.2f\n", NR, secs, NR / secs, v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1] }'
}

# The gateway's resident memory: bench_rss_mark PID at the start, bench_rss_report NAME PID at the end
# (peak: the kernel's high-water mark, VmHWM, since the process started).
bench_rss_mark() { BENCH_RSS_START=$(awk '/^VmRSS/ {print $2}' "/proc/$1/status"); }
bench_rss_report() {
  printf 'rss\t%s\t%s\t%s\t%s\n' "$1" "$BENCH_RSS_START" "$(awk '/^VmHWM/ {print $2}' "/proc/$2/status")" \
    "$(awk '/^VmRSS/ {print $2}' "/proc/$2/status")" >> "$OUT/results.tsv"
}

# bench_pg_count_statements FILE FLOWS COMMAND…: the SQL statements PostgreSQL executed while COMMAND ran FLOWS
# flows, and those of an idle gateway over as long (its background work, included in the first count).
bench_pg_count_statements() {
  local file=$1 flows=$2; shift 2
  local query="SELECT calls, round(total_exec_time::numeric, 3), regexp_replace(query, '\s+', ' ', 'g') FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'kych_bench') ORDER BY calls DESC, query"
  psql -qtA -d postgres -c "SELECT pg_stat_statements_reset()" >/dev/null
  local start end
  start=$(date +%s.%N)
  "$@" >"$file.run"
  end=$(date +%s.%N)
  psql -qtA -F $'\t' -d postgres -c "$query" > "$file.flows"
  psql -qtA -d postgres -c "SELECT pg_stat_statements_reset()" >/dev/null
  sleep "$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')"
  psql -qtA -F $'\t' -d postgres -c "$query" > "$file.idle"
  { echo "flows: $flows"; echo "seconds: $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b - a}')"
    echo "== during the flows: calls, total execution ms, statement"; cat "$file.flows"
    echo "== idle gateway, as long: calls, total execution ms, statement"; cat "$file.idle"; } > "$file"
  rm -f "$file.run" "$file.flows" "$file.idle"
}
