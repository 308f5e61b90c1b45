#!/usr/bin/env bash
# Changes the status of a report through the service's API (PUT /v4/report), as the reference's
# script did: prints what it sends, then the HTTP status and the answer. Open the reports page (/)
# beside it to watch the change arrive live.
#
#   ./update_report_status.sh <userID> <reportID> <new-status>
#   SSE_GATEWAY_URL=http://localhost:3000 (the default) says where the service is.
#
# Exit status: 0 on a 2xx answer, 1 on any other answer or when the service can't be reached,
# 2 on wrong arguments.
set -euo pipefail

usage() {
  local base=${SSE_GATEWAY_URL:-http://localhost:3000} machine
  cat <<EOF
usage: $(basename "$0") <userID> <reportID> <new-status>

Changes a report's status with PUT ${base%/}/v4/report?user_id=<userID>.
EOF
  # The status machine lives in the service; ask it rather than keep a copy here that could drift.
  if machine=$(curl -fsS --connect-timeout 2 --max-time 5 "${base%/}/v4/transitions" 2>/dev/null); then
    echo "Statuses, and where each may go next (GET /v4/transitions):"
    printf '%s\n' "$machine"
  else
    echo "GET ${base%/}/v4/transitions lists the statuses and legal changes once the service is running."
  fi
}

if [[ $# -eq 1 && ($1 == -h || $1 == --help) ]]; then
  usage
  exit 0
fi
if [[ $# -ne 3 ]]; then
  usage >&2
  exit 2
fi
user_id=$1
report_id=$2
new_status=$3

# A JSON string literal of $1: quotes, backslashes and control characters escaped; other bytes
# (UTF-8 included) pass through. The service validates the values; this only keeps the JSON well-formed.
json_string() {
  local LC_ALL=C
  local input=$1 output='' char code i
  for ((i = 0; i < ${#input}; i++)); do
    char=${input:i:1}
    case $char in
      '"') output+='\"' ;;
      '\') output+='\\' ;;
      *)
        printf -v code '%d' "'$char"
        if ((code >= 0 && code < 32)); then
          printf -v char '\\u%04x' "$code"
        fi
        output+=$char
        ;;
    esac
  done
  printf '"%s"' "$output"
}

# Percent-encodes $1 for a query parameter (RFC 3986 unreserved characters stay as they are).
url_encode() {
  local LC_ALL=C
  local input=$1 output='' char i
  for ((i = 0; i < ${#input}; i++)); do
    char=${input:i:1}
    case $char in
      [A-Za-z0-9.~_-]) output+=$char ;;
      *) printf -v char '%%%02X' "'$char" && output+=$char ;;
    esac
  done
  printf '%s' "$output"
}

base_url=${SSE_GATEWAY_URL:-http://localhost:3000}
url="${base_url%/}/v4/report?user_id=$(url_encode "$user_id")"
data="{\"id\":$(json_string "$report_id"),\"status\":$(json_string "$new_status")}"

echo "sending: PUT $url"
echo "sending: $data"

# curl's own failures (refused, timed out) are reported by curl (-sS) and end the script with 1.
# AUTH_MODE=jwt: SSE_GATEWAY_TOKEN (the owner's token, or one with the publish scope) is sent as a
# bearer token; it is never printed.
auth=()
if [[ -n ${SSE_GATEWAY_TOKEN:-} ]]; then
  auth=(-H "Authorization: Bearer $SSE_GATEWAY_TOKEN")
fi
if ! answer=$(curl -sS --connect-timeout 5 --max-time 30 -X PUT "$url" \
  -H 'Content-Type: application/json' -H 'Accept: application/json' "${auth[@]}" \
  --data-binary "$data" -w $'\n%{http_code}'); then
  echo "error: no answer from $base_url (is the service running? SSE_GATEWAY_URL says where)" >&2
  exit 1
fi
status=${answer##*$'\n'}
body=${answer%$'\n'*}

echo "HTTP $status"
printf '%s\n' "$body"
if [[ $status != 2?? ]]; then
  exit 1
fi
