#!/usr/bin/python3
"""A stand-in relay for pds-wizard's tests and benchmarks, on 127.0.0.1 only: answers
com.atproto.sync.getHostStatus for one host with a chosen sequence number and status,
HostNotFound for any other, com.atproto.sync.getRepoStatus from a table of accounts,
/xrpc/_health, and records requestCrawl calls (one JSON line each on stderr). Prints
{"port": PORT} on stdout, then runs until stdin closes.

usage: relay.py HOSTNAME SEQ STATUS
environment (all optional):
  RELAY_REPOS          JSON {DID: STATUS}: "active", or a getRepoStatus status such as
                       "throttled"; any other DID is RepoNotFound
  RELAY_DEFAULT_REPO   the status of a DID not in RELAY_REPOS (instead of RepoNotFound)
  RELAY_ACCOUNT_COUNT  getHostStatus's accountCount (default: the size of RELAY_REPOS, or 1)
  RELAY_DELAY_MS       wait this long before every answer (a slow relay)

With RELAY_SUBSCRIBE it behaves as indigo's relay does with one host (cmd/relay/relay/
slurper.go; PDS-FACTS "Relay cursors"): it subscribes to the PDS's firehose with its stored
cursor (SEQ), keeps the seq of each event as its cursor and the events it received; on a
FutureCursor error frame it marks the host `idle` and reconnects with the same cursor; after
RELAY_MAX_FAILURES failed dials in a row it marks the host `offline` and stops dialing until
requestCrawl. STATUS `unknown` is a host it has never seen (HostNotFound) until requestCrawl.
  RELAY_SUBSCRIBE      the PDS's websocket base URL (ws://127.0.0.1:PORT)
  RELAY_LISTEN         the address to listen on (default 127.0.0.1; another only in a
                       network namespace of a test)
  RELAY_MAX_FAILURES   failed dials before `offline` (default 15, as indigo)
  RELAY_RETRY_MS       the wait between dials (default 100; indigo backs off to 30 s)
  RELAY_REFUSE_NEW     1: requestCrawl for a host it does not know is refused, as a relay
                       that has closed new-host subscriptions answers
GET /state answers what it holds: status, cursor, failures, the last error frame, events.
"""
import asyncio
import io
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

if os.environ.get("RELAY_SUBSCRIBE"):
    import cbor2  # Debian: python3-cbor2
    import websockets  # Debian: python3-websockets

host, seq, status = sys.argv[1], int(sys.argv[2]), sys.argv[3]
subscribe = os.environ.get("RELAY_SUBSCRIBE")
max_failures = int(os.environ.get("RELAY_MAX_FAILURES", "15"))
retry = int(os.environ.get("RELAY_RETRY_MS", "100")) / 1000
refuse_new = os.environ.get("RELAY_REFUSE_NEW") == "1"

# What the subscriber and the HTTP side share, under `lock`; `wake` starts dialing again.
lock = threading.Lock()
wake = threading.Event()
shared = {
    "status": status,
    "cursor": seq,
    "failures": 0,
    "lastError": None,
    "events": [],
    # The accounts whose events it received: active to getRepoStatus (as a relay's repo
    # table), unless RELAY_REPOS says otherwise.
    "repos": [],
    # The status each #account event said last, by DID.
    "accounts": {},
    "dialing": subscribe is not None and status != "unknown",
}
if shared["dialing"]:
    wake.set()


def frames(data):
    """A firehose frame: two CBOR objects, the header {op, t} and the body."""
    decoder = cbor2.CBORDecoder(io.BytesIO(data))
    return decoder.decode(), decoder.decode()


async def follow():
    """One connection: events move the cursor; an error frame ends it."""
    url = f"{subscribe}/xrpc/com.atproto.sync.subscribeRepos?cursor={shared['cursor']}"
    async with websockets.connect(url, max_size=None, open_timeout=5, ping_interval=None) as ws:
        with lock:
            shared["failures"] = 0
            if shared["status"] in ("offline", "unknown"):
                shared["status"] = "active"
        async for message in ws:
            header, body = frames(message)
            with lock:
                if header.get("op") == -1:
                    shared["lastError"] = body.get("error")
                    if body.get("error") == "FutureCursor":
                        shared["status"] = "idle"
                    return
                seq = body.get("seq")
                if isinstance(seq, int):
                    shared["cursor"] = seq
                    shared["status"] = "active"
                    did = body.get("did") or body.get("repo")
                    shared["events"].append({"seq": seq, "type": header.get("t"), "did": did})
                    if isinstance(did, str) and did not in shared["repos"]:
                        shared["repos"].append(did)
                    # An #account event says the account's status, as the relay keeps it.
                    if header.get("t") == "#account" and isinstance(did, str):
                        shared["accounts"][did] = "active" if body.get("active") else (body.get("status") or "deactivated")


def subscriber():
    while True:
        wake.wait()
        try:
            asyncio.run(follow())
        except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as e:
            with lock:
                shared["failures"] += 1
                shared["lastError"] = type(e).__name__
                if shared["failures"] >= max_failures:
                    shared["status"] = "offline"
                    shared["dialing"] = False
                    wake.clear()
        time.sleep(retry)
repos = json.loads(os.environ.get("RELAY_REPOS", "{}"))
default_repo = os.environ.get("RELAY_DEFAULT_REPO")
account_count = int(os.environ.get("RELAY_ACCOUNT_COUNT", len(repos) or 1))
delay = int(os.environ.get("RELAY_DELAY_MS", "0")) / 1000


class Relay(BaseHTTPRequestHandler):
    # HTTP/1.1 with content-length: clients keep their connections, as with a real relay.
    protocol_version = "HTTP/1.1"

    def answer(self, code, body):
        if delay:
            time.sleep(delay)
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/xrpc/_health":
            return self.answer(200, {"version": "stand-in relay"})
        if url.path == "/state":
            with lock:
                return self.answer(200, dict(shared))
        if url.path == "/xrpc/com.atproto.sync.getHostStatus":
            asked = query.get("hostname", [""])[0]
            with lock:
                now, cursor = shared["status"], shared["cursor"]
                # Following: the accounts whose events it has; else as configured.
                count = account_count
                if subscribe is not None and "RELAY_ACCOUNT_COUNT" not in os.environ:
                    count = len(shared["repos"])
            if asked != host or now == "unknown":
                return self.answer(400, {"error": "HostNotFound", "message": "host not found"})
            return self.answer(200, {"hostname": host, "seq": cursor, "accountCount": count, "status": now})
        if url.path == "/xrpc/com.atproto.sync.getRepoStatus":
            did = query.get("did", [""])[0]
            with lock:
                followed = did in shared["repos"]
                said = shared["accounts"].get(did)
            state = repos.get(did, said or ("active" if followed else default_repo))
            if state is None:
                return self.answer(400, {"error": "RepoNotFound", "message": "repo not found"})
            if state == "active":
                return self.answer(200, {"did": did, "active": True, "rev": "3l000000000000"})
            return self.answer(200, {"did": did, "active": False, "status": state})
        self.answer(404, {"error": "NotFound"})

    def do_POST(self):
        if urlparse(self.path).path == "/xrpc/com.atproto.sync.requestCrawl":
            length = int(self.headers.get("content-length", "0"))
            sys.stderr.write(self.rfile.read(length).decode() + "\n")
            sys.stderr.flush()
            with lock:
                if shared["status"] == "unknown" and refuse_new:
                    return self.answer(400, {"error": "InvalidRequest", "message": "new host subscriptions temporarily disabled"})
                # As indigo: a crawl request starts a subscription again (an offline host's
                # failures forgotten), with the cursor it holds.
                if subscribe is not None and not shared["dialing"]:
                    shared["failures"] = 0
                    shared["dialing"] = True
                    wake.set()
            return self.answer(200, {})
        self.answer(404, {"error": "NotFound"})

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 128
# RELAY_LISTEN: another address, only inside a network namespace a test made.
server = ThreadingHTTPServer((os.environ.get("RELAY_LISTEN", "127.0.0.1"), 0), Relay)
threading.Thread(target=server.serve_forever, daemon=True).start()
if subscribe is not None:
    threading.Thread(target=subscriber, daemon=True).start()
print(json.dumps({"port": server.server_address[1]}), flush=True)
sys.stdin.read()
server.shutdown()
