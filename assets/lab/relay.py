#!/usr/bin/python3
"""A stand-in relay for pds-wizard's tests, on 127.0.0.1 only: answers
com.atproto.sync.getHostStatus for one host with a chosen sequence number and status,
HostNotFound for any other, /xrpc/_health, and records requestCrawl calls (one JSON line
each on stderr). Prints {"port": PORT} on stdout, then runs until stdin closes.

usage: relay.py HOSTNAME SEQ STATUS
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

host, seq, status = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Relay(BaseHTTPRequestHandler):
    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/xrpc/_health":
            return self.answer(200, {"version": "stand-in relay"})
        if url.path == "/xrpc/com.atproto.sync.getHostStatus":
            asked = parse_qs(url.query).get("hostname", [""])[0]
            if asked != host:
                return self.answer(400, {"error": "HostNotFound", "message": "host not found"})
            return self.answer(200, {"hostname": host, "seq": seq, "accountCount": 1, "status": status})
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


server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(json.dumps({"port": server.server_address[1]}), flush=True)
sys.stdin.read()
server.shutdown()
