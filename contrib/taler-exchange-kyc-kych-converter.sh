#!/bin/sh
# KyCH -> GNU Taler exchange KYC attribute converter.
#
# Set KYC_OAUTH2_CONVERTER_HELPER to this program in the exchange's [kyc-provider-*] section.
# It reads KyCH's /info JSON on standard input and writes the exchange's attribute object:
#   id            the KyCH verification id (string, required by the exchange)
#   full_name     given_name + " " + family_name
#   birthdate     birth_date (YYYY-MM-DD), or age_birth_year as YYYY-00-00
#   nationalities nationality
# Input it cannot map (not JSON, not a successful verification, no id, a malformed date)
# makes it exit non-zero with a message on standard error and print nothing.
set -eu
me=taler-exchange-kyc-kych-converter
command -v jq >/dev/null 2>&1 || { echo "$me: jq is required (apt-get install jq)" >&2; exit 2; }
input=$(cat)
if ! output=$(printf '%s' "$input" | jq -c '
  def need(cond; msg): if cond then . else error(msg) end;
  need(type == "object"; "input is not a JSON object")
  | need(.status == "success"; "the verification did not succeed (status is not \"success\")")
  | need((.id | type) == "string" and .id != ""; "the input has no string field id")
  | (.claims // {}) as $c
  | need(($c | type) == "object"; "claims is not an object")
  | {id: .id}
  + ([$c.given_name, $c.family_name] | map(select(type == "string" and . != "")) | if length > 0 then {full_name: join(" ")} else {} end)
  + (if ($c.birth_date | type) == "string" then
       ($c.birth_date | need(test("^[0-9]{4}-[0-9]{2}-[0-9]{2}$"); "birth_date is not YYYY-MM-DD") | {birthdate: .})
     elif $c.age_birth_year != null then
       ($c.age_birth_year | tostring | need(test("^[0-9]{4}$"); "age_birth_year is not a year") | {birthdate: (. + "-00-00")})
     else {} end)
  + (if ($c.nationality | type) == "string" and $c.nationality != "" then {nationalities: $c.nationality} else {} end)
' 2>&1); then
  echo "$me: cannot convert KyCH /info output: $(printf '%s' "$output" | sed 's/^jq: error (at [^)]*): //' | head -n 1)" >&2
  exit 1
fi
printf '%s\n' "$output"
