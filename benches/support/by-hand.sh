#!/usr/bin/env bash
# The doctor's checks done by hand, one after another, the way an operator follows a
# troubleshooting guide: the usual tools (stat, curl, dig, openssl, df, date), each waiting
# for the last. Run by benches/doctor.rs against the same healthy lab as the doctor, to
# compare wall times. Everything is on loopback: HTTPS goes to nginx at $HTTPS (curl
# --resolve), DNS to NSD at $NS, the PDS at $PDS, the PLC directory (also the relay
# stand-in) at $PLC, the SMTP server (STARTTLS + AUTH) at $SMTP.
# Arguments come in the environment: ENV HOST HANDLE DID HTTPS NS_IP NS_PORT PDS PLC SMTP
# SMTP_USER SMTP_PASS CA DATA.
set -u
ip=127.0.0.1
get() { curl -s -m 5 --cacert "$CA" --resolve "$1:${HTTPS}:$ip" -o /dev/null -w '%{http_code}\n' "https://$1:${HTTPS}$2"; }

# pds.env: mode and the required keys.
stat -c %a "$ENV"
grep -c -E '^(PDS_HOSTNAME|PDS_JWT_SECRET|PDS_ADMIN_PASSWORD|PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX|PDS_DATA_DIRECTORY)=' "$ENV"
# The PDS answers locally.
curl -s -m 5 "$PDS/xrpc/_health"; echo
# DNS: the hostname and the handle wildcard.
dig +short +time=5 -p "$NS_PORT" "@$NS_IP" A "$HOST"
dig +short +time=5 -p "$NS_PORT" "@$NS_IP" A "wildcard-check.$HOST"
# HTTPS through the proxy, and the certificate's dates.
get "$HOST" /xrpc/_health
echo | openssl s_client -connect "$ip:$HTTPS" -servername "$HOST" -CAfile "$CA" 2>/dev/null | openssl x509 -noout -enddate
# OAuth paths.
get "$HOST" /.well-known/oauth-protected-resource
get "$HOST" /.well-known/oauth-authorization-server
get "$HOST" /oauth/authorize
# The firehose: the upgrade, watched 2 s as guides say ("it should stay open"); curl
# cannot stop at the first frame of a stream it keeps reading (piped into head, it waits
# for its next write, which a quiet PDS may never make).
curl -s -N -m 2 --http1.1 --cacert "$CA" --resolve "$HOST:${HTTPS}:$ip" \
  -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
  -H 'Sec-WebSocket-Key: cGRzLXdpemFyZC1jaGVjaw==' \
  "https://$HOST:${HTTPS}/xrpc/com.atproto.sync.subscribeRepos?cursor=0" -o /dev/null
# Uploads and sign-up: what the PDS says of itself.
curl -s -m 5 "$PDS/xrpc/com.atproto.server.describeServer"; echo
# SMTP: STARTTLS and the login, no mail.
curl -s -m 5 --ssl-reqd --cacert "$CA" -u "$SMTP_USER:$SMTP_PASS" -X NOOP "smtp://localhost:$SMTP" >/dev/null; echo "smtp $?"
# The handle: DNS, the atproto-did file, the DID document.
dig +short +time=5 -p "$NS_PORT" "@$NS_IP" TXT "_atproto.$HANDLE"
curl -s -m 5 --cacert "$CA" --resolve "$HANDLE:${HTTPS}:$ip" "https://$HANDLE:${HTTPS}/.well-known/atproto-did"; echo
curl -s -m 5 "$PLC/$DID" >/dev/null; echo "plc $?"
# Relays: reachable, their view of this host and of the account.
curl -s -m 5 -o /dev/null -w '%{http_code}\n' "$PLC/xrpc/_health"
curl -s -m 5 -o /dev/null -w '%{http_code}\n' "$PLC/xrpc/com.atproto.sync.getHostStatus?hostname=$HOST"
curl -s -m 5 -o /dev/null -w '%{http_code}\n' "$PLC/xrpc/com.atproto.sync.getRepoStatus?did=$DID"
# Disk and clock.
df -h "$DATA" | tail -1
curl -s -m 5 -I "$PLC/" | grep -i '^date:'; date -u
