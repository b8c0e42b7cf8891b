#!/usr/bin/python3
"""A receiving SMTP server that keeps nothing, for bench/signup-mail.sh's smtp-remote mode.

It stands in for the relay on another host: it speaks the SMTP a client needs (EHLO/HELO,
MAIL, RCPT, DATA with dot-stuffing, RSET, NOOP, QUIT), answers each message "250", and
only counts the messages, so its own CPU per message is a small fraction of the test
sink's (tests/smtp/sink.py decodes and stores every message) and the sign-up benchmark
measures the server's own cost of sending. Not for tests: they read what a real server
received.

usage: smtp-discard.py HOST:PORT COUNT_FILE
Prints "READY host:port" once listening; on SIGTERM writes the count to COUNT_FILE.
"""

import asyncio
import signal
import sys


class Session(asyncio.Protocol):
    received = 0

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""
        self.in_data = False
        transport.write(b"220 discard.test ESMTP\r\n")

    def data_received(self, data):
        self.buffer += data
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    # Keep only what may hold the start of the terminator.
                    self.buffer = self.buffer[-4:]
                    return
                self.buffer = self.buffer[end + 5 :]
                self.in_data = False
                Session.received += 1
                self.transport.write(b"250 2.0.0 queued\r\n")
                continue
            line, sep, rest = self.buffer.partition(b"\r\n")
            if not sep:
                return
            self.buffer = rest
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.transport.write(b"250-discard.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            elif verb == b"DATA":
                self.in_data = True
                self.buffer = b"\r\n" + self.buffer  # a body may end at once: "\r\n.\r\n"
                self.transport.write(b"354 end with <CRLF>.<CRLF>\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"221 bye\r\n")
                self.transport.close()
                return
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                self.transport.write(b"250 ok\r\n")


async def main():
    host, port = sys.argv[1].rsplit(":", 1)
    count_file = sys.argv[2]
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Session, host, int(port))
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    print(f"READY {host}:{port}", flush=True)
    await stop
    server.close()
    with open(count_file, "w") as f:
        f.write(f"{Session.received}\n")


asyncio.run(main())
