#!/bin/sh
# Feed one raw email (on stdin) to deskguard's inbound gate, signed with DESKGUARD_INBOUND_SECRET.
# Use it as a Postfix pipe transport or from any MTA hook:
#   DESKGUARD_INBOUND_URL=https://deskguard.internal.example/inbound/email deskguard-inbound.sh < msg.eml
set -eu
: "${DESKGUARD_INBOUND_SECRET:?set DESKGUARD_INBOUND_SECRET}"
: "${DESKGUARD_INBOUND_URL:?set DESKGUARD_INBOUND_URL}"
body=$(mktemp)
trap 'rm -f "$body"' EXIT
cat > "$body"
ts=$(date +%s)
sig=$( (printf 'v1:%s:' "$ts"; cat "$body") | openssl dgst -sha256 -hmac "$DESKGUARD_INBOUND_SECRET" | sed 's/^.* //')
curl -fsS -X POST --data-binary @"$body" -H "Content-Type: message/rfc822" \
  -H "X-Deskguard-Timestamp: $ts" -H "X-Deskguard-Signature: v1=$sig" \
  "$DESKGUARD_INBOUND_URL"
