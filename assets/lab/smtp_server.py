#!/usr/bin/python3
"""Real SMTP servers for pds-wizard's tests (aiosmtpd), on 127.0.0.1 only.

Starts one listener that requires STARTTLS and one with implicit TLS, both requiring AUTH
for USER/PASSWORD. Each accepted message is written to OUTDIR as JSON (write, then rename,
so a reader never sees half a file). Mail from REJECT_SENDER is refused at MAIL FROM.
Prints {"starttls": PORT, "implicit": PORT} on stdout, then runs until stdin closes.
The password comes from the environment (SMTP_LAB_PASSWORD), never the command line.
PORTS, if given, are tried first (implicit,starttls, e.g. 2465,2587); a taken one is
replaced by a free port.

usage: SMTP_LAB_PASSWORD=... smtp_server.py CERT KEY OUTDIR USER REJECT_SENDER [PORTS]
"""
import json
import os
import socket
import ssl
import sys
import uuid
import logging

# aiosmtpd logs a warning about its own legacy login_data on every login; not ours to fix.
logging.getLogger("mail.log").setLevel(logging.ERROR)

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

cert, key, outdir, user, reject = sys.argv[1:6]
password = os.environ["SMTP_LAB_PASSWORD"]
preferred = [int(p) for p in sys.argv[6].split(",")] if len(sys.argv) > 6 else [0, 0]


def free_port(want=0):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", want))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler:
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address == reject:
            return "553 5.7.1 <%s>: Sender address rejected: not owned by user" % address
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = uuid.uuid4().hex
        tmp = os.path.join(outdir, "." + name)
        with open(tmp, "w") as f:
            json.dump({
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "data": envelope.content.decode("utf8", "replace"),
                "login": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            }, f)
        os.rename(tmp, os.path.join(outdir, name + ".json"))
        return "250 OK queued as " + name


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login.decode() == user
          and auth_data.password.decode() == password)
    # Passing auth_data on makes aiosmtpd record who logged in (session.auth_data).
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)

def start(want, **kw):
    """A controller on the wanted port, or on a free one if another process took it first
    (between our check and the bind)."""
    for port in (free_port(want), free_port()):
        # auth_required: MAIL FROM before a login gets "530 Authentication required", as
        # from every provider's submission port.
        c = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                       auth_required=True, **kw)
        try:
            c.start()
            return c
        except Exception:
            continue
    raise SystemExit("no port for the SMTP server")


starttls = start(preferred[1], tls_context=ctx, require_starttls=True, auth_require_tls=True)
# aiosmtpd cannot tell an implicit-TLS socket is encrypted: auth_require_tls must be off here.
implicit = start(preferred[0], ssl_context=ctx, auth_require_tls=False)
print(json.dumps({"starttls": starttls.port, "implicit": implicit.port}), flush=True)
sys.stdin.read()
starttls.stop()
implicit.stop()
