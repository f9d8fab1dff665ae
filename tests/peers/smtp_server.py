#!/usr/bin/env python3
"""A misbehaving SMTP server for xsell's tests (aiosmtpd, a separate
implementation from the client under test).

It stores every accepted message as a file in --store, and can be told to
answer 4xx to some messages, drop some connections, and refuse addresses:

  smtp_server.py --port 0 --store DIR [--transient-every N] [--drop-every N]
                 [--bounce ADDRESS ...] [--port-file FILE]

--transient-every N   every Nth DATA gets "451 4.3.0 try again later"
--drop-every N        every Nth DATA drops the connection without answering
--bounce ADDRESS      RCPT TO this address gets "550 5.1.1 no such user"
--port-file FILE      write the listening port there once ready
--tls-cert/--tls-key  offer STARTTLS (and require it) with this certificate,
--implicit-tls        or speak TLS from the first byte (SMTPS)
--refuse-auth         offer AUTH, require it, and refuse every credential (535)
--hold-ms N           keep each DATA N ms before answering (deliveries overlap)
--concurrency-file F  keep there, as JSON, the most deliveries that were in
                      DATA at once per recipient domain; each stored message
                      gets an X-Accepted-At header (seconds, float)
Decisions are deterministic (counters), so a test run is repeatable.
"""

import argparse
import asyncio
import itertools
import json
import os
import signal
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, store, transient_every, drop_every, bounces, hold_ms=0, concurrency_file=None):
        self.hold_ms = hold_ms
        self.concurrency_file = concurrency_file
        self.active = {}
        self.most = {}
        self.store = store
        self.transient_every = transient_every
        self.drop_every = drop_every
        self.bounces = {b.lower() for b in bounces}
        self.data_count = itertools.count(1)
        self.stored = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.bounces:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        domains = sorted({address.rsplit("@", 1)[-1].lower() for address in envelope.rcpt_tos})
        for domain in domains:
            self.active[domain] = self.active.get(domain, 0) + 1
            self.most[domain] = max(self.most.get(domain, 0), self.active[domain])
        if self.concurrency_file:
            temporary = self.concurrency_file + ".tmp"
            with open(temporary, "w") as f:
                json.dump(self.most, f)
            os.rename(temporary, self.concurrency_file)
        try:
            if self.hold_ms:
                await asyncio.sleep(self.hold_ms / 1000)
            return self.accept(server, envelope)
        finally:
            for domain in domains:
                self.active[domain] -= 1

    def accept(self, server, envelope):
        n = next(self.data_count)
        if self.drop_every and n % self.drop_every == 0:
            server.transport.close()
            return "421 4.4.2 connection dropped"
        if self.transient_every and n % self.transient_every == 0:
            return "451 4.3.0 try again later"
        number = next(self.stored)
        path = os.path.join(self.store, f"{number:07d}.eml")
        temporary = path + ".tmp"
        with open(temporary, "wb") as f:
            f.write(b"X-Envelope-From: " + (envelope.mail_from or "").encode() + b"\r\n")
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(b"X-Accepted-At: " + repr(time.time()).encode() + b"\r\n")
            f.write(envelope.original_content)
        os.rename(temporary, path)
        return "250 2.0.0 OK"


class Smtp8Bit(SMTP):
    pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--store", required=True)
    parser.add_argument("--transient-every", type=int, default=0)
    parser.add_argument("--drop-every", type=int, default=0)
    parser.add_argument("--bounce", action="append", default=[])
    parser.add_argument("--port-file")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--refuse-auth", action="store_true")
    parser.add_argument("--hold-ms", type=int, default=0)
    parser.add_argument("--concurrency-file")
    args = parser.parse_args()
    os.makedirs(args.store, exist_ok=True)
    handler = Handler(args.store, args.transient_every, args.drop_every, args.bounce,
                      args.hold_ms, args.concurrency_file)
    tls = {}
    if args.tls_cert:
        import ssl
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.implicit_tls:
            tls = {"ssl_context": context}
        else:
            tls = {"tls_context": context, "require_starttls": True}
    auth = {}
    if args.refuse_auth:
        from aiosmtpd.smtp import AuthResult
        auth = {"authenticator": lambda *_: AuthResult(success=False, handled=False),
                "auth_required": True, "auth_require_tls": False}
    controller = Controller(handler, hostname="127.0.0.1", port=args.port or find_free_port(),
                            decode_data=False, enable_SMTPUTF8=True, data_size_limit=0, **tls, **auth)
    controller.start()
    if args.port_file:
        temporary = args.port_file + ".tmp"
        with open(temporary, "w") as f:
            f.write(str(controller.port))
        os.rename(temporary, args.port_file)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


def find_free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
