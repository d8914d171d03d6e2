#!/usr/bin/env bash
# ns per operation of base64url and JSON before and after: the files of REV (default main) against the work
# tree, each compiled with `swiftc -O` into its own module (Sources/KychSDJWT/{Base64URL,JSONValue}.swift
# depend on Foundation alone). Prints a Markdown table. Usage: benchmarks/cpu-micro/measure.sh [REV]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/../.." && pwd)"; rev="${1:-main}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
mkdir -p "$work/old" "$work/new"
for f in Base64URL JSONValue; do
  git -C "$root" show "$rev:Sources/KychSDJWT/$f.swift" > "$work/old/$f.swift"
  cp "$root/Sources/KychSDJWT/$f.swift" "$work/new/$f.swift"
done
for m in old new; do
  name="$( [[ $m == old ]] && echo OldJOSE || echo NewJOSE )"
  swiftc -O -wmo -parse-as-library -package-name kych -module-name "$name" -emit-module -emit-module-path "$work/$name.swiftmodule" \
    -emit-library -static -o "$work/lib$name.a" "$work/$m"/*.swift
done
swiftc -O -package-name kych -I "$work" -L "$work" -lOldJOSE -lNewJOSE "$here/main.swift" -o "$work/measure"
"$work/measure"
