#!/usr/bin/python3
"""An SMTP server for watchd's mail notification tests, on Debian's
python3-aiosmtpd (run it with /usr/bin/python3).

Usage: smtp_server.py --port N --out-dir DIR [--fail-first N]
                      [--ready-file PATH]

Each accepted mail is written to DIR/NNN.eml (the message as received) and
DIR/NNN.json ({"mail_from": ..., "rcpt_tos": [...]}), the .json last, so a
reader that sees it finds the whole mail. While --fail-first mails remain,
DATA is answered "451 4.3.0 Try again later" (a transient failure). The
ready file is written once the server listens. Nothing is printed.
"""

import argparse
import json
import os
import signal
import threading

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, out_dir, fail_first):
        self.out_dir = out_dir
        self.fail_left = fail_first
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.fail_left > 0:
                self.fail_left -= 1
                return "451 4.3.0 Try again later"
            self.count += 1
            base = os.path.join(self.out_dir, "%03d" % self.count)
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json.tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from,
                       "rcpt_tos": envelope.rcpt_tos}, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--ready-file")
    args = parser.parse_args()
    controller = Controller(Handler(args.out_dir, args.fail_first),
                            hostname="127.0.0.1", port=args.port)
    controller.start()
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("ready\n")
        os.rename(tmp, args.ready_file)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
