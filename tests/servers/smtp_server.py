#!/usr/bin/env python3
"""A scriptable SMTP server for digest's fault tests (aiosmtpd).

Behaviour is chosen per recipient by the local part's prefix:
  tempfail<N>-...  451 on RCPT for the first N attempts for that address, then accepted
  toomany<N>-...   452 (too many recipients / insufficient storage) the first N times, then accepted
  busy-...         421 on RCPT once (the server asks to slow down), then accepted
  reject-...       550 5.1.1 user unknown (a hard bounce)
  spam-...         554 5.7.1 on DATA (a policy rejection, not a bounce)
  drop-...         the connection is closed after DATA, before the reply, once
  stall-...        DATA is never answered, once (the client must time out and retry)
anything else is accepted. Every accepted message is appended to --log as one JSON line
{"event": "accepted", "rcpt": [...], "message_id": ..., "subject": ..., "size": ...}, and every
connection as {"event": "connect"}, every MAIL command as {"event": "mail", "arg": ...}, every DATA
command (an upload about to start) as {"event": "data"} and every RSET as {"event": "rset"}.
--size-limit N advertises SIZE N (aiosmtpd refuses a larger declared SIZE on MAIL with 552);
--forward HOST:PORT relays every accepted message, unchanged, to that SMTP server (e.g. maildev)
before answering. --data-reply "554 5.6.0 ..." answers every message with that reply after its upload. --strict-helo
refuses every RCPT with Postfix's "504 5.5.2 <name>: Helo command rejected: need fully-qualified
hostname" when the EHLO name is neither an address literal nor a name with a dot (Postfix's
reject_non_fqdn_helo_hostname); every EHLO is logged as {"event": "ehlo", "name": ...}. --delay-ms slows every DATA reply; --stall makes DATA never
answer; --greeting-421 N answers the first N connections with 421 and closes them. --mode picks plain, starttls (required) or implicit TLS; --auth user:password requires a
login. Prints "listening on PORT" when ready.
"""
import argparse
import asyncio
import json
import re
import smtplib
import ssl
import sys
from email.parser import BytesHeaderParser
from email.policy import default

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def fully_qualified(name):
    """As Postfix's reject_non_fqdn_helo_hostname: an address literal, or a name with a dot."""
    if name.startswith("[") and name.endswith("]"):
        return True
    return "." in name.strip(".")


def forward(host, port, mail_from, rcpts, content):
    """Relays one accepted message to the SMTP server at host:port."""
    with smtplib.SMTP(host, port, timeout=30) as relay:
        relay.sendmail(mail_from, rcpts, content)


class Handler:
    def __init__(self, args):
        self.args = args
        self.attempts = {}
        self.dropped = set()
        self.busy = set()
        self.stalled = set()
        self.connections = 0
        self.log = open(args.log, "a", buffering=1) if args.log else None

    def write(self, record):
        if self.log:
            self.log.write(json.dumps(record) + "\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        helo = session.host_name or ""
        if self.args.strict_helo and not fully_qualified(helo):
            # Postfix's reject_non_fqdn_helo_hostname, evaluated at RCPT (smtpd_delay_reject = yes).
            return "504 5.5.2 <%s>: Helo command rejected: need fully-qualified hostname" % helo
        local = address.split("@")[0].lower()
        m = re.match(r"tempfail(\d+)-", local)
        if m:
            n = self.attempts.get(address, 0) + 1
            self.attempts[address] = n
            if n <= int(m.group(1)):
                return "451 4.7.1 greylisted, try again later"
        m = re.match(r"toomany(\d+)-", local)
        if m:
            n = self.attempts.get(address, 0) + 1
            self.attempts[address] = n
            if n <= int(m.group(1)):
                return "452 4.5.3 too many recipients, try again later"
        if local.startswith("busy-") and address not in self.busy:
            self.busy.add(address)
            return "421 4.7.0 too many messages, slow down"
        if local.startswith("reject-"):
            return "550 5.1.1 <%s>: user unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.data_reply:
            return self.args.data_reply
        rcpts = [r.lower() for r in envelope.rcpt_tos]
        if any(r.split("@")[0].startswith("spam-") for r in rcpts):
            return "554 5.7.1 message rejected as spam"
        drop = [r for r in rcpts if r.split("@")[0].startswith("drop-") and r not in self.dropped]
        if drop:
            self.dropped.update(drop)
            server.transport.close()
            return "421 closing"  # never reaches the client: the connection is gone
        stall = [r for r in rcpts if r.split("@")[0].startswith("stall-") and r not in self.stalled]
        if self.args.stall or stall:
            self.stalled.update(stall)
            await asyncio.sleep(3600)
        if self.args.delay_ms:
            await asyncio.sleep(self.args.delay_ms / 1000)
        if self.args.forward:
            host, port = self.args.forward.rsplit(":", 1)
            await asyncio.get_running_loop().run_in_executor(
                None, forward, host, int(port), envelope.mail_from, rcpts, envelope.content)
        headers = BytesHeaderParser(policy=default).parsebytes(envelope.content)
        self.write({
            "event": "accepted",
            "rcpt": rcpts,
            "mail_from": envelope.mail_from,
            "message_id": str(headers.get("Message-ID", "")),
            "subject": str(headers.get("Subject", "")),
            "size": len(envelope.content),
        })
        return "250 2.0.0 accepted"


class LoggingSMTP(SMTP):
    def connection_made(self, transport):
        handler = self.event_handler
        handler.write({"event": "connect"})
        handler.connections += 1
        if handler.connections <= handler.args.greeting_421:
            transport.write(b"421 4.3.2 service not available, try later\r\n")
            transport.close()
            return
        super().connection_made(transport)

    async def smtp_EHLO(self, arg):
        self.event_handler.write({"event": "ehlo", "name": arg})
        await super().smtp_EHLO(arg)

    async def smtp_MAIL(self, arg):
        self.event_handler.write({"event": "mail", "arg": arg})
        await super().smtp_MAIL(arg)

    async def smtp_DATA(self, arg):
        self.event_handler.write({"event": "data"})
        await super().smtp_DATA(arg)

    async def smtp_RSET(self, arg):
        self.event_handler.write({"event": "rset"})
        await super().smtp_RSET(arg)

    def connection_lost(self, exc):
        if self.session is not None:  # None: closed at the greeting, before a session began
            super().connection_lost(exc)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log")
    p.add_argument("--mode", choices=["plain", "starttls", "implicit"], default="plain")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth")
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--stall", action="store_true")
    p.add_argument("--greeting-421", type=int, default=0)
    p.add_argument("--size-limit", type=int, default=64 * 1024 * 1024)
    p.add_argument("--data-reply")
    p.add_argument("--strict-helo", action="store_true")
    p.add_argument("--forward")
    args = p.parse_args()

    handler = Handler(args)
    smtp = {"data_size_limit": args.size_limit, "hostname": "localhost"}
    server_ssl = None
    if args.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        if args.mode == "starttls":
            smtp.update(tls_context=context, require_starttls=True)
        else:
            server_ssl = context
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
                and auth_data.password.decode() == password
            return AuthResult(success=ok, handled=False)

        smtp.update(authenticator=authenticator, auth_required=True, auth_exclude_mechanism=["LOGIN"],
                    auth_require_tls=args.mode != "plain")
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(
        lambda: LoggingSMTP(handler, **smtp), host="127.0.0.1", port=args.port, ssl=server_ssl))
    print("listening on %d" % server.sockets[0].getsockname()[1], flush=True)
    # Run until stdin closes: the test that started us has finished (or died).
    loop.run_until_complete(loop.run_in_executor(None, sys.stdin.read))
    server.close()


if __name__ == "__main__":
    main()
