#!/usr/bin/env python3
"""Groups a `perf report --no-children --stdio -g none --sort dso,symbol` of the gateway (scripts/bench profile)
into cost groups (JSON, base64, SQL, crypto, HTTP, logging, …) and prints each group's share of the samples with
its top symbols. Swift symbols are demangled with swift-demangle.

  bench_profile.py PERF-REPORT.txt
"""
import collections
import re
import shutil
import subprocess
import sys

# First match wins: (group, pattern on "dso symbol", demangled).
GROUPS = [
    ("logging", r"Logging\.|RedactingLogHandler|LogHandler|StreamLogHandler"),
    ("JSON", r"JSON|Codable|Decoder|Encoder|KeyedDecodingContainer|KeyedEncodingContainer"),
    ("base64", r"[Bb]ase64"),
    ("crypto (P-256, SHA-2, AES, bcrypt)", r"CryptoBoringSSL|BoringSSL|Crypto\.|_CryptoExtras|P256|SHA256|SHA384|AES|bcrypt|Bcrypt|HMAC|HKDF|CompactJWE|CompactJWS"),
    ("SQL (PostgresNIO, pool, SQLite)", r"PostgresNIO|_ConnectionPoolModule|ConnectionPool|SQLiteNIO|sqlite3|KychPostgres|KychSQLite"),
    ("HTTP (Hummingbird, NIOHTTP1, AsyncHTTPClient)", r"Hummingbird|NIOHTTP1|AsyncHTTPClient|HTTPTypes|llhttp|NIOHTTPTypes|HTTPClient"),
    ("kernel (sockets, scheduling, syscalls)", r"^\[kernel"),
    ("NIO event loops and Swift concurrency", r"NIOPosix|NIOCore|NIOConcurrencyHelpers|swift_task|swift_job|Concurrency|swift_continuation|libdispatch|dispatch_"),
    ("Foundation (strings, dates, URLs, Data)", r"Foundation|ICU|icu_|libicu"),
    ("Swift runtime (retain/release, allocation, generics)", r"swift_retain|swift_release|swift_allocObject|swift_dealloc|swift_bridgeObject|swift_arrayInit|swift_getGeneric|swift_conformsTo|swift_dynamicCast|libswiftCore|malloc|free|_int_|cfree|memcpy|memmove|tcache"),
    ("KyCH code", r"^\S+ .*Kych"),
]


def demangle(symbols):
    tool = shutil.which("swift-demangle")
    if not tool or not symbols:
        return symbols
    result = subprocess.run([tool, "--simplified", "--compact"], input="\n".join(symbols), capture_output=True, text=True)
    lines = result.stdout.splitlines()
    return lines if len(lines) == len(symbols) else symbols


def main():
    rows = []
    for line in open(sys.argv[1], errors="replace"):
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)", line)
        if m:
            rows.append((float(m.group(1)), m.group(2), m.group(3).strip()))
    names = demangle([symbol for _, _, symbol in rows])
    groups, tops = collections.Counter(), collections.defaultdict(list)
    for (share, dso, _), name in zip(rows, names):
        text = f"{dso} {name}"
        group = next((g for g, pattern in GROUPS if re.search(pattern, text)), "other (libc, unresolved)")
        groups[group] += share
        tops[group].append((share, name))
    total = sum(groups.values())
    print(f"Gateway CPU samples by group ({total:.1f}% of samples attributed):")
    for group, share in groups.most_common():
        top = "; ".join(f"{name[:70]} {s:.1f}%" for s, name in sorted(tops[group], reverse=True)[:3])
        print(f"  {share:5.1f}%  {group}\n          top: {top}")


if __name__ == "__main__":
    main()
