"""A loopback SMTP sink for Otklik's notification tests.

Usage: python sink.py --dir DIR [--exit-on-stdin-eof]

Listens on 127.0.0.1 on a port the kernel picks, prints one line `PORT <n>` to stdout,
then serves until SIGTERM or SIGINT (or, with --exit-on-stdin-eof, until stdin closes, so
that a test process that dies without cleaning up does not leave the sink running).
Plain SMTP: no TLS, no AUTH.

Every accepted message N is stored in DIR as N.json ({"mail_from": ..., "rcpt_tos": [...]},
the envelope) and N.eml (the message bytes exactly as received, dot-unstuffed), N
zero-padded. Each file is written under a hidden temporary name and renamed; the .json
comes first, so a reader that sees N.eml also sees N.json.

Fault injection, checked at every DATA: while DIR/.refuse exists the sink answers
`451 4.3.0 Try again later` (a transient failure), while DIR/.reject exists
`550 5.1.1 Mailbox unavailable` (a permanent one); either way it stores nothing.

Needs aiosmtpd 1.4.6 (scripts/test installs it).
"""

import argparse
import asyncio
import itertools
import json
import os
import signal
import sys
import threading

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory):
        self.dir = directory
        self.seq = itertools.count(1)

    def _write(self, name, data):
        tmp = os.path.join(self.dir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.dir, name))

    # aiosmtpd calls this once the whole message has arrived; the reply is its return value.
    async def handle_DATA(self, server, session, envelope):
        if os.path.exists(os.path.join(self.dir, ".refuse")):
            return "451 4.3.0 Try again later"
        if os.path.exists(os.path.join(self.dir, ".reject")):
            return "550 5.1.1 Mailbox unavailable"
        n = f"{next(self.seq):06d}"
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)}
        self._write(f"{n}.json", json.dumps(meta).encode())
        self._write(f"{n}.eml", envelope.original_content)
        return "250 2.0.0 OK"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Sink(args.dir)
    # aiosmtpd's Controller cannot listen on port 0 (it connects to its own port to start
    # up), so the asyncio server is made here and asked which port it got.
    server = loop.run_until_complete(
        loop.create_server(
            lambda: SMTP(
                handler,
                hostname="otklik-smtp-sink",  # skips a reverse DNS lookup of the host
                enable_SMTPUTF8=True,
                loop=loop,
            ),
            host="127.0.0.1",
            port=0,
        )
    )
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    if args.exit_on_stdin_eof:

        def watch_stdin():
            sys.stdin.buffer.read()  # returns at EOF: the parent closed it or died
            loop.call_soon_threadsafe(loop.stop)

        threading.Thread(target=watch_stdin, daemon=True).start()

    try:
        loop.run_forever()
    finally:
        server.close()
        loop.close()


if __name__ == "__main__":
    main()
