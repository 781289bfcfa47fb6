#!/bin/sh
# deskguard-inbound: post one raw email (stdin) to deskguard's inbound gate, signed with HMAC-SHA256.
#
# Made for a Postfix pipe(8) transport (see the README's "Postfix: copy help-desk mail to the gate"),
# usable from any MTA hook:
#
#   deskguard-inbound [CONFIG] < message.eml
#
# CONFIG (default: $DESKGUARD_INBOUND_CONFIG, else /etc/deskguard/inbound.conf) is a file that only
# its owner and group may read (0640 or stricter), with lines:
#
#   url=https://deskguard.internal.example/inbound/email
#   secret=<the same value as DESKGUARD_INBOUND_SECRET>
#   timeout=30          # optional: seconds for the whole request (default 30)
#
# The secret never appears on a command line: the HMAC is computed here from pipes and shell
# built-ins, and the signed headers reach curl through a file.
#
# Exit status, as the MTA understands it (sysexits.h):
#   0   the gate accepted the message (2xx), or refused it for good (a 4xx: this copy cannot be
#       used; it is logged with the gate's error code, and the original delivery is unaffected)
#   75  EX_TEMPFAIL: connection failure, time-out, 5xx, 408/425/429, a configuration problem or
#       anything unexpected: the MTA keeps the copy and retries. curl's own exit codes are never
#       passed on (Postfix would bounce the copy to the external sender).
# Messages go to stderr (the MTA's log) and, when `logger` exists, to syslog (mail facility).

umask 077
EX_TEMPFAIL=75
tmp=""

# shellcheck disable=SC2329 # run by the EXIT trap
cleanup() {
    status=$?
    [ -n "$tmp" ] && rm -rf "$tmp"
    case $status in
        0 | "$EX_TEMPFAIL") exit "$status" ;;
        *) exit "$EX_TEMPFAIL" ;; # never let an unexpected status reach the MTA
    esac
}
trap cleanup EXIT
trap 'exit "$EX_TEMPFAIL"' HUP INT TERM

say() { # say PRIORITY TEXT: one line to stderr and syslog
    printf 'deskguard-inbound: %s\n' "$2" >&2
    if command -v logger >/dev/null 2>&1; then
        logger -t deskguard-inbound -p "mail.$1" -- "$2" 2>/dev/null || :
    fi
}

tempfail() {
    say warning "$1; the MTA will retry"
    exit "$EX_TEMPFAIL"
}

# --- configuration -------------------------------------------------------------------------------
conf=${1:-${DESKGUARD_INBOUND_CONFIG:-/etc/deskguard/inbound.conf}}
[ -f "$conf" ] && [ -r "$conf" ] || tempfail "cannot read the configuration file $conf"
if [ -n "$(find "$conf" -prune -perm -o=r 2>/dev/null)" ]; then
    tempfail "$conf is readable by everyone: chmod 0640 it (it holds the gate's secret)"
fi
url="" secret="" timeout=30
while IFS= read -r line || [ -n "$line" ]; do
    case $line in
        url=*) url=${line#url=} ;;
        secret=*) secret=${line#secret=} ;;
        timeout=*) timeout=${line#timeout=} ;;
    esac
done <"$conf"
[ -n "$url" ] || tempfail "no url= line in $conf"
[ -n "$secret" ] || tempfail "no secret= line in $conf"
case $timeout in '' | *[!0-9]*) tempfail "timeout= in $conf must be whole seconds" ;; esac

command -v curl >/dev/null 2>&1 || tempfail "curl is not installed"
command -v openssl >/dev/null 2>&1 || tempfail "openssl is not installed"
tmp=$(mktemp -d) || tempfail "cannot create a temporary directory"
cat >"$tmp/body" || tempfail "cannot read the message from stdin"

# --- HMAC-SHA256(secret, "v1:<ts>:" + body), RFC 2104, without the key in any argv ---------------
key_hex() { # the key as one hex byte per line, hashed first when longer than the 64-byte block
    printf '%s' "$secret" >"$tmp/key"
    if [ "$(wc -c <"$tmp/key")" -gt 64 ]; then
        openssl dgst -sha256 -binary <"$tmp/key" >"$tmp/key.h" && mv "$tmp/key.h" "$tmp/key"
    fi
    od -An -v -tx1 <"$tmp/key" | awk '{ for (i = 1; i <= NF; i++) print $i }'
    rm -f "$tmp/key"
}
octal() { # octal VALUE: a printf escape for one byte
    printf '\\%d%d%d' $(($1 / 64)) $(($1 / 8 % 8)) $(($1 % 8))
}
pad_block() { # pad_block BYTE: printf format of the 64-byte key XOR BYTE
    fmt="" n=0
    for b in $(key_hex); do
        fmt="$fmt$(octal $((0x$b ^ $1)))"
        n=$((n + 1))
    done
    while [ "$n" -lt 64 ]; do
        fmt="$fmt$(octal "$1")"
        n=$((n + 1))
    done
    printf '%s' "$fmt"
}
ts=$(date +%s) || tempfail "cannot read the clock"
ipad=$(pad_block 54) opad=$(pad_block 92) # 0x36, 0x5c
# The pads are printf formats made only of \ooo escapes (built above): that is how a shell
# built-in writes bytes, NUL included, without the key passing through any command's argv.
# shellcheck disable=SC2059
{ printf "$ipad"; printf 'v1:%s:' "$ts"; cat "$tmp/body"; } |
    openssl dgst -sha256 -binary >"$tmp/inner" || tempfail "openssl failed"
# shellcheck disable=SC2059
sig=$({ printf "$opad"; cat "$tmp/inner"; } | openssl dgst -sha256 -hex | sed 's/^.* //')
[ ${#sig} -eq 64 ] || tempfail "openssl failed"
printf 'X-Deskguard-Timestamp: %s\nX-Deskguard-Signature: v1=%s\nContent-Type: message/rfc822\n' \
    "$ts" "$sig" >"$tmp/headers"

# --- post ------------------------------------------------------------------------------------------
code=$(curl --silent --fail-with-body --request POST --data-binary @"$tmp/body" \
    --header @"$tmp/headers" --connect-timeout 10 --max-time "$timeout" \
    --output "$tmp/reply" --write-out '%{http_code}' -- "$url" 2>/dev/null)
rc=$?
# The gate's JSON error code ({"error": "bad_signature", ...}), if it sent one.
error=$(head -c 4096 "$tmp/reply" 2>/dev/null | tr -d '\r\n' |
    sed -n 's/.*"error" *: *"\([A-Za-z0-9_.-]*\)".*/\1/p')
id=$(head -c 4096 "$tmp/reply" 2>/dev/null | tr -d '\r\n' |
    sed -n 's/.*"id" *: *"\([A-Za-z0-9_.:-]*\)".*/\1/p')

case $rc in
    0 | 22) ;;
    28) tempfail "the gate did not answer within ${timeout}s" ;;
    *) tempfail "cannot reach the gate (connection failed)" ;;
esac
case $code in
    2??)
        say info "accepted by the gate (HTTP $code${id:+, id $id})"
        exit 0
        ;;
    408 | 425 | 429) tempfail "the gate is busy (HTTP $code${error:+ $error})" ;;
    401)
        say err "the gate refused the copy (HTTP 401 ${error:-unauthorized}): check secret= in $conf and this host's clock; the copy is dropped, the original mail is delivered"
        exit 0
        ;;
    4??)
        say err "the gate refused the copy (HTTP $code ${error:-error}); the copy is dropped, the original mail is delivered"
        exit 0
        ;;
    5??) tempfail "the gate failed (HTTP $code${error:+ $error})" ;;
    *) tempfail "unexpected answer from the gate (HTTP ${code:-none})" ;;
esac
