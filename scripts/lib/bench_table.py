#!/usr/bin/env python3
"""Prints scripts/bench's results: every run, then the issue-13 table (figure | PostgreSQL | SQLite | ceilings)
and the SQL statements of one flow as PostgreSQL counted them.

  bench_table.py RESULTS.tsv [SQL-FLOW.txt]
"""
import csv
import sys


def load(path):
    runs, rss = {}, {}
    with open(path) as f:
        for row in csv.reader(f, delimiter="\t"):
            if row[0] == "rss":
                rss[row[1]] = [int(v) // 1024 for v in row[2:5]]
            elif row[0] != "backend":
                runs[(row[0], row[1], row[2])] = dict(zip(
                    ["ops", "errors", "ops_per_s", "p50", "p99", "gateway_cpu", "postgres_cpu", "bench_cpu"], row[3:]))
    return runs, rss


def number(text, digits=0):
    try:
        return f"{float(text):,.{digits}f}"
    except ValueError:
        return text


def main():
    runs, rss = load(sys.argv[1])
    print("\nEvery run (CPU in ms per operation; kych-bench's own CPU shows it is not the bottleneck):")
    header = ["backend", "run", "conc", "ops", "errors", "ops/s", "p50 ms", "p99 ms", "gateway CPU", "PostgreSQL CPU", "kych-bench CPU"]
    rows = [[b, r, c, v["ops"], v["errors"], number(v["ops_per_s"], 1), v["p50"], v["p99"], v["gateway_cpu"], v["postgres_cpu"],
             v["bench_cpu"]] for (b, r, c), v in runs.items()]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    for row in [header] + rows:
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths)))

    def cell(backend, run, concurrency, what):
        v = runs.get((backend, run, str(concurrency)))
        if not v:
            return "—"
        if what == "rate":
            return f"{number(v['ops_per_s'])}/s (p50 {v['p50']} ms, p99 {v['p99']} ms)"
        if what == "alone":
            return f"{v['p50']} ms (p99 {v['p99']} ms)"
        if what == "cpu":
            extra = f" (+{v['postgres_cpu']} ms in PostgreSQL)" if v["postgres_cpu"] not in ("-", "nan") else ""
            return f"{v['gateway_cpu']} ms{extra}"

    def memory(backend):
        start, peak, end = rss.get(backend, ["?"] * 3)
        return f"{start} / {peak} / {end} MB"

    figures = [
        ("complete flows/s, 64 concurrent", lambda b: cell(b, "flows", 64, "rate"), "—"),
        ("complete flows/s, 16 concurrent", lambda b: cell(b, "flows", 16, "rate"), "—"),
        ("one flow alone, end to end", lambda b: cell(b, "flows", 1, "alone"), "—"),
        ("server CPU per flow (64 concurrent)", lambda b: cell(b, "flows", 64, "cpu"), "—"),
        ("code → token, 16 concurrent", lambda b: cell(b, "token", 16, "rate"), "glewlwyd 2.7.5: " + cell("glewlwyd", "token", 16, "rate")),
        ("/info, 16 concurrent", lambda b: cell(b, "info", 16, "rate"), "glewlwyd userinfo: " + cell("glewlwyd", "info", 16, "rate")),
        ("/setup, 16 concurrent", lambda b: cell(b, "setup", 16, "rate"), "—"),
        ("/health, 16 concurrent", lambda b: cell(b, "health", 16, "rate"), "—"),
        ("/health, 64 concurrent", lambda b: cell(b, "health", 64, "rate"), "nginx static: " + cell("ceiling", "nginx-static", 64, "rate")),
        ("gateway RSS start / peak / end", memory, "—"),
        ("single-row INSERT, 16 clients", lambda b: "—", "pgbench: " + cell("ceiling", "pgbench-insert", 16, "rate")),
    ]
    if ("postgres", "flows", "64") not in runs:   # the instances and scale modes: their runs only
        return
    print("\n| figure | KyCH on PostgreSQL | KyCH on SQLite | ceilings |\n|---|---|---|---|")
    for name, value, ceiling in figures:
        print(f"| {name} | {value('postgres')} | {value('sqlite')} | {ceiling} |")

    if len(sys.argv) > 2:
        print_statements(sys.argv[2])


def print_statements(path):
    """The SQL statements per flow: calls during the counted flows, minus nothing (the idle list shows what
    the background adds over as long)."""
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return
    flows = int(lines[0].split(": ")[1])
    sections, current = {}, None
    for line in lines[2:]:
        if line.startswith("== "):
            current = "flows" if "during the flows" in line else "idle"
            sections[current] = []
        elif current and line:
            calls, ms, query = line.split("\t", 2)
            sections[current].append((int(calls), float(ms), query))
    during = sections.get("flows", [])
    idle = sections.get("idle", [])
    total, idle_total = sum(c for c, _, _ in during), sum(c for c, _, _ in idle)
    print(f"\nSQL statements PostgreSQL executed (pg_stat_statements): {total / flows:.1f} per flow over {flows} flows at "
          f"concurrency 1, of which the idle gateway's background work accounts for about {idle_total / flows:.1f}; "
          f"execution {sum(ms for _, ms, _ in during) / flows:.2f} ms per flow")
    for calls, ms, query in during:
        print(f"  {calls / flows:6.2f}/flow  {ms / max(calls, 1):7.3f} ms  {query[:150]}")


if __name__ == "__main__":
    main()
