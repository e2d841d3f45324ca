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
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

host, seq, status = sys.argv[1], int(sys.argv[2]), sys.argv[3]
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
        if url.path == "/xrpc/com.atproto.sync.getHostStatus":
            asked = query.get("hostname", [""])[0]
            if asked != host:
                return self.answer(400, {"error": "HostNotFound", "message": "host not found"})
            return self.answer(200, {"hostname": host, "seq": seq, "accountCount": account_count, "status": status})
        if url.path == "/xrpc/com.atproto.sync.getRepoStatus":
            did = query.get("did", [""])[0]
            state = repos.get(did, default_repo)
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
            return self.answer(200, {})
        self.answer(404, {"error": "NotFound"})

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 128
server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(json.dumps({"port": server.server_address[1]}), flush=True)
sys.stdin.read()
server.shutdown()
