#!/usr/bin/python3
"""A real SMTP server on loopback for the tests (Debian's python3-aiosmtpd).

Every message it accepts is written to DIR as two files, complete or not at all:
  NNNNNN-<random>.eml   the message exactly as received
  NNNNNN-<random>.json  what tests look at: envelope sender and recipients, decoded
                        headers (subject, from, to, reply-to, message-id, date, ...),
                        the text/plain and text/html parts, and whether the session
                        was encrypted and authenticated, and the client's port
                        (one per connection)
Options:
  --listen HOST:PORT      where to listen (required)
  --dir DIR               where messages go (required; created)
  --tls-cert/--tls-key    PEM files: offer STARTTLS and require it before MAIL
  --implicit-tls          with the cert: TLS from the first byte (SMTPS, port 465 style)
  --user/--password       require AUTH PLAIN/LOGIN with these credentials (over TLS)
  --reject-rcpt           refuse every recipient for good, quoting the address
                          ("550 5.1.1 <addr>: Recipient address rejected"), as real
                          servers do
Prints "READY host:port" on stdout once it accepts connections; stops on SIGTERM/SIGINT.
Used by tests/api/smtp.rs (SmtpSink), tests/browser/run.sh and bench/signup-mail.sh.
"""

import argparse
import email
import email.policy
import itertools
import json
import os
import signal
import ssl
import sys
import threading
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

counter = itertools.count(1)
lock = threading.Lock()


class Sink:
    def __init__(self, directory, reject_rcpt=False):
        self.directory = directory
        self.reject_rcpt = reject_rcpt

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        msg = email.message_from_bytes(raw, policy=email.policy.default)

        def part(kind):
            body = msg.get_body(preferencelist=(kind,))
            return body.get_content() if body is not None else None

        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "headers": {k.lower(): str(v) for k, v in msg.items()},
            "content_type": msg.get_content_type(),
            "text": part("plain"),
            "html": part("html"),
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            # The client's source port names its TCP connection: tests check that a
            # burst of messages shares one.
            "client_port": session.peer[1],
        }
        with lock:
            n = next(counter)
        name = f"{n:06d}-{uuid.uuid4().hex[:8]}"
        for ext, data in ((".eml", raw), (".json", json.dumps(record, ensure_ascii=False).encode("utf-8"))):
            tmp = os.path.join(self.directory, "." + name + ext + ".tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, os.path.join(self.directory, name + ext))
        return "250 Message accepted for delivery"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--reject-rcpt", action="store_true")
    a = p.parse_args()
    host, port = a.listen.rsplit(":", 1)
    os.makedirs(a.dir, exist_ok=True)

    kwargs = {}
    context = None
    if a.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(a.tls_cert, a.tls_key)
    if context and a.implicit_tls:
        kwargs["ssl_context"] = context
    elif context:
        kwargs["tls_context"] = context
        kwargs["require_starttls"] = True
    if a.user:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == a.user
                and auth_data.password.decode() == a.password
            )
            return AuthResult(success=ok)

        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        # aiosmtpd counts only STARTTLS as TLS for AUTH; with TLS from the first byte
        # the connection is encrypted anyway. Plain-text AUTH when asked for no TLS.
        kwargs["auth_require_tls"] = context is not None and not a.implicit_tls

    controller = Controller(Sink(a.dir, a.reject_rcpt), hostname=host, port=int(port), **kwargs)
    controller.start()
    sys.stdout.write(f"READY {host}:{port}\n")
    sys.stdout.flush()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    sys.exit(main())
