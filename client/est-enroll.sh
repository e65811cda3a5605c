#!/bin/sh
# Enrol a device with a Client Registry over EST (RFC 7030), with only sh, curl
# and openssl; renew its certificate later. POSIX sh (runs under dash and busybox).
#
#   est-enroll.sh enroll --url URL --username NAME --ca-fingerprint HEX [--out DIR] [--timeout SECONDS]
#   est-enroll.sh renew  --url URL --username NAME [--out DIR]
#
# The password comes from EST_PASSWORD, or from DIR/NAME.password (made at the first
# run when EST_PASSWORD is unset). enroll writes DIR/NAME.key (owner only),
# DIR/NAME.crt and DIR/ca.crt; it keeps DIR/NAME.csr so that a rerun re-sends the
# same request, which is how a pending request is polled. Exit 0 once the
# certificate is written, 1 on a refusal or when --timeout runs out.

set -eu
umask 077

usage() {
    echo "usage: $0 enroll|renew --url URL --username NAME [--ca-fingerprint HEX] [--out DIR] [--timeout SECONDS]" >&2
    exit 2
}

fail() {
    echo "est-enroll: $*" >&2
    exit 1
}

command=${1:-}
[ "$command" = enroll ] || [ "$command" = renew ] || usage
shift
url="" name="" pin="" out="." timeout=600
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case $1 in
        --url) url=${2%/} ;;
        --username) name=$2 ;;
        --ca-fingerprint) pin=$2 ;;
        --out) out=$2 ;;
        --timeout) timeout=$2 ;;
        *) usage ;;
    esac
    shift 2
done
[ -n "$url" ] && [ -n "$name" ] || usage
case $timeout in '' | *[!0-9]*) fail "--timeout takes whole seconds" ;; esac
mkdir -p "$out"
est="$url/.well-known/est"
# Beside the output, so that finished files are renamed into place, never half written.
work=$(mktemp -d "$out/.est-enroll.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The password goes to curl on its standard input (a config file), never on its
# command line, where any user of the machine could read it.
password() {
    if [ -n "${EST_PASSWORD:-}" ]; then
        printf '%s' "$EST_PASSWORD"
    else
        [ -s "$out/$name.password" ] || openssl rand -hex 16 | tr -d '\n' >"$out/$name.password"
        cat "$out/$name.password"
    fi
}

# Basic credentials for enroll; renew authenticates with its certificate alone.
curl_config() {
    [ "$command" = enroll ] || return 0
    escaped=$(password | sed 's/[\\"]/\\&/g')
    printf 'user = "%s:%s"\n' "$name" "$escaped"
}

# post PATH BODY_FILE [curl options...]: the status code; headers and body in $work.
post() {
    path=$1 body=$2
    shift 2
    curl_config | curl --silent --show-error --config - --cacert "$out/ca.crt" "$@" \
        -H "Content-Type: application/pkcs10" -H "Content-Transfer-Encoding: base64" \
        --data-binary "@$body" -D "$work/headers" -o "$work/body" -w '%{http_code}' "$est/$path"
}

# The first certificate of a base64 certs-only PKCS#7 (an EST answer) as PEM.
first_certificate() {
    openssl base64 -d -in "$1" | openssl pkcs7 -inform DER -print_certs | openssl x509
}

retry_after() {
    seconds=$(tr -d '\r' <"$work/headers" | sed -n 's/^[Rr][Ee][Tt][Rr][Yy]-[Aa][Ff][Tt][Ee][Rr]:[[:space:]]*\([0-9][0-9]*\)[[:space:]]*$/\1/p')
    echo "${seconds:-5}"
}

fetch_ca() {
    [ -n "$pin" ] || fail "--ca-fingerprint is required the first time (ask the administrator: main.py admin ca)"
    # Fetched without trust, then trusted only if it has the fingerprint the
    # administrator gave out of band.
    curl --silent --show-error --fail --insecure -o "$work/cacerts" "$est/cacerts" || fail "cannot fetch $est/cacerts"
    first_certificate "$work/cacerts" >"$work/ca.crt" || fail "$est/cacerts is not a certs-only PKCS#7"
    got=$(openssl x509 -in "$work/ca.crt" -outform DER | openssl dgst -sha256 | sed 's/.*= *//')
    want=$(printf '%s' "$pin" | tr -d ': ' | tr 'A-F' 'a-f')
    [ "$got" = "$want" ] || fail "the registry's CA has fingerprint $got, not $want: not trusting it"
    mv "$work/ca.crt" "$out/ca.crt"
}

# The CSR (CN = username) as base64 of its DER, EST's request body.
make_csr() {
    openssl req -new -key "$1" -subj "/CN=$name" -outform DER | openssl base64 >"$2"
}

enroll() {
    [ -s "$out/ca.crt" ] || fetch_ca
    if [ ! -s "$out/$name.key" ]; then
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/$name.key" 2>/dev/null
        rm -f "$out/$name.csr"
    fi
    [ -s "$out/$name.csr" ] || make_csr "$out/$name.key" "$out/$name.csr"
    deadline=$(($(date +%s) + timeout))
    said=""
    while :; do
        status=$(post simpleenroll "$out/$name.csr") || fail "cannot reach $est"
        case $status in
            200)
                first_certificate "$work/body" >"$out/$name.crt.new" || fail "the answer holds no certificate"
                mv "$out/$name.crt.new" "$out/$name.crt"
                echo "enrolled: $out/$name.crt"
                return 0 ;;
            202 | 423 | 429 | 503)
                wait=$(retry_after)
                [ "$(($(date +%s) + wait))" -le "$deadline" ] || fail "gave up after $timeout seconds: $(cat "$work/body")"
                if [ "$said" != "$status" ]; then
                    echo "$status: $(cat "$work/body") (asking again every ${wait}s)"
                    said=$status
                fi
                sleep "$wait" ;;
            *) fail "$status: $(cat "$work/body")" ;;
        esac
    done
}

# A new key and certificate, authenticated by the current certificate (mutual
# TLS); the files are replaced only once the new certificate is in hand.
renew() {
    for file in ca.crt "$name.key" "$name.crt"; do
        [ -s "$out/$file" ] || fail "$out/$file is missing: enrol first"
    done
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/new.key" 2>/dev/null
    make_csr "$work/new.key" "$work/new.csr"
    status=$(post simplereenroll "$work/new.csr" --cert "$out/$name.crt" --key "$out/$name.key") \
        || fail "cannot reach $est"
    [ "$status" = 200 ] || fail "$status: $(cat "$work/body")"
    first_certificate "$work/body" >"$work/new.crt" || fail "the answer holds no certificate"
    mv "$work/new.key" "$out/$name.key"
    mv "$work/new.crt" "$out/$name.crt"
    echo "renewed: $out/$name.crt"
}

"$command"
