#!/usr/bin/env python3
"""A program for supervisord to run in watchd's tests (stdlib only).

Usage: supervised_app.py [--pid-file PATH]

Writes its pid to PATH (atomically) when given, then waits for a signal;
SIGTERM ends it (the default action), as supervisord's stop expects.
"""

import argparse
import os
import signal


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pid-file")
    args = parser.parse_args()
    if args.pid_file:
        tmp = args.pid_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, args.pid_file)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
