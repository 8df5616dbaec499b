#!/usr/bin/env python3
"""A man page renders cleanly: no groff warning, no line past 80 columns.

usage: man_lint.py PAGE...

Each page is formatted twice, as its readers will: by groff with every
warning on (`groff -man -Tutf8 -ww -z`), and by man-db (`man --warnings=w
-l`, 80 columns). Anything either writes on stderr fails the page, and so
does a rendered line wider than the 80 columns it was formatted for (an
example that overflows a terminal).
"""

import os
import subprocess
import sys

WIDTH = 80


def lint(page):
    problems = []
    groff = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page],
                           capture_output=True, text=True, timeout=60)
    if groff.returncode != 0 or groff.stderr:
        problems.append("groff -ww (exit %d):\n%s" %
                        (groff.returncode, groff.stderr))
    env = dict(os.environ, MANWIDTH=str(WIDTH), MANPAGER="cat", PAGER="cat",
               LC_ALL="C.UTF-8")
    env.pop("MANOPT", None)
    man = subprocess.run(["man", "--warnings=w", "-l", page],
                         capture_output=True, text=True, timeout=60, env=env)
    if man.returncode != 0 or man.stderr:
        problems.append("man --warnings -l (exit %d):\n%s" %
                        (man.returncode, man.stderr))
    if "NAME" not in man.stdout:
        problems.append("man -l rendered no NAME section")
    for n, line in enumerate(man.stdout.split("\n"), 1):
        if len(line) > WIDTH:
            problems.append("rendered line %d is %d columns wide: %s" %
                            (n, len(line), line.strip()))
    return problems


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    status = 0
    for page in sys.argv[1:]:
        problems = lint(page)
        for p in problems:
            print("%s: %s" % (page, p), file=sys.stderr)
        if problems:
            status = 1
        else:
            print("%s: ok" % page)
    return status


if __name__ == "__main__":
    sys.exit(main())
