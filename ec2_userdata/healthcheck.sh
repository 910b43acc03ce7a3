#!/usr/bin/env bash
# healthcheck.sh - wait until the clinic's /healthz answers 200 (through nginx).
#
# Used by install_clinic.sh before the instance signals CloudFormation, and by
# hand: /opt/clinic/bin/healthcheck.sh --host <domain> --timeout 5
# Exit codes: 0 healthy, 1 not healthy within --timeout (reason on stderr), 64 usage.
set -euo pipefail

readonly PROG=healthcheck
url=http://127.0.0.1/healthz
host=""
timeout=120
interval=2

usage() {
    cat <<USAGE
Usage: $0 [--url $url] [--host HOST] [--timeout $timeout] [--interval $interval]

  --url URL          what to GET (default: $url)
  --host HOST        Host header to send (one of DJANGO_ALLOWED_HOSTS)
  --timeout SECONDS  give up after this long (default: $timeout)
  --interval SECONDS pause between attempts (default: $interval)
USAGE
}
need_arg() {
    [[ $# -ge 2 && -n $2 ]] || { printf '%s: option %s needs a value\n' "$PROG" "$1" >&2; exit 64; }
}
while [[ $# -gt 0 ]]; do
    case $1 in
        --url) need_arg "$@"; url=$2; shift 2 ;;
        --host) need_arg "$@"; host=$2; shift 2 ;;
        --timeout) need_arg "$@"; timeout=$2; shift 2 ;;
        --interval) need_arg "$@"; interval=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) printf '%s: unknown argument: %s\n' "$PROG" "$1" >&2; usage >&2; exit 64 ;;
    esac
done
[[ $timeout =~ ^[0-9]+$ && $interval =~ ^[0-9]+$ ]] || { printf '%s: --timeout/--interval must be numbers\n' "$PROG" >&2; exit 64; }
command -v curl >/dev/null 2>&1 || { printf '%s: curl not found\n' "$PROG" >&2; exit 1; }

headers=()
[[ -z $host ]] || headers=(--header "Host: $host")
deadline=$((SECONDS + timeout))
last="no answer"
while :; do
    code=$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 5 \
        "${headers[@]}" -- "$url" 2>/dev/null) || true
    if [[ $code == 200 ]]; then
        printf '%s: %s answered 200\n' "$PROG" "$url"
        exit 0
    fi
    [[ -z $code || $code == 000 ]] || last="HTTP $code"
    if ((SECONDS >= deadline)); then
        printf '%s: %s did not answer 200 within %s s (last: %s)\n' "$PROG" "$url" "$timeout" "$last" >&2
        exit 1
    fi
    sleep "$interval"
done
