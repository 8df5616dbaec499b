#!/usr/bin/env python3
"""`cmake --install` puts every file where the docs and the unit say.

Installs the build tree into a temporary DESTDIR (the paths are the
configured ones, /usr and /etc by default, under the temporary root), then
checks that:

- every expected file is there, and nothing was installed outside DESTDIR;
- the installed programs run (`watchd --version`, `watchctl --help`), and
  the installed watchd accepts the installed configuration;
- the installed unit runs the installed programs on the installed
  configuration;
- `man -l` formats an installed page, and `man -M` finds the pages by
  name and section, as `man watchd.yaml` will;
- the bash completion loads and completes watchctl;
- a second install keeps a locally edited watchd.yaml and logrotate file.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile


class Failures:

    def __init__(self):
        self.items = []

    def check(self, ok, message):
        if not ok:
            self.items.append(message)
        return ok


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          **kw)


def install(args, root):
    env = dict(os.environ, DESTDIR=root)
    return run([args.cmake, "--install", args.build_dir], env=env)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("cmake", "build-dir", "source-dir", "version", "bindir",
                 "mandir", "datadir", "docdir", "sysconfdir", "unitdir"):
        ap.add_argument("--" + name, required=True)
    args = ap.parse_args()

    f = Failures()
    root = tempfile.mkdtemp(prefix="watchd-install.")
    try:
        first = install(args, root)
        if not f.check(first.returncode == 0, "cmake --install failed:\n" +
                       first.stdout + first.stderr):
            return report(f)

        def at(path):
            return root + path

        confdir = os.path.join(args.sysconfdir, "watchd")
        expected = [
            os.path.join(args.bindir, "watchd"),
            os.path.join(args.bindir, "watchctl"),
            os.path.join(args.mandir, "man8/watchd.8"),
            os.path.join(args.mandir, "man8/watchctl.8"),
            os.path.join(args.mandir, "man5/watchd.yaml.5"),
            os.path.join(args.datadir, "bash-completion/completions/watchctl"),
            os.path.join(args.datadir, "watchd/checks/nginx.yaml"),
            os.path.join(args.docdir, "README.md"),
            # The unit's Documentation= names it.
            os.path.join(args.docdir, "operations.md"),
            os.path.join(confdir, "watchd.yaml"),
            os.path.join(confdir, "checks.d/README.md"),
            os.path.join(args.sysconfdir, "logrotate.d/watchd"),
            os.path.join(args.unitdir, "watchd.service"),
        ]
        for path in expected:
            f.check(os.path.isfile(at(path)), "not installed: " + path)
        for program in ("watchd", "watchctl"):
            f.check(os.access(at(os.path.join(args.bindir, program)), os.X_OK),
                    program + " is not executable")

        # Every file the install made (its manifest, which names them
        # without DESTDIR) landed under DESTDIR: no rule escapes it.
        manifest = os.path.join(args.build_dir, "install_manifest.txt")
        if f.check(os.path.isfile(manifest), "no install_manifest.txt"):
            for line in open(manifest).read().split():
                f.check(os.path.isfile(at(line)),
                        "installed, but not under DESTDIR: " + line)

        watchd = at(os.path.join(args.bindir, "watchd"))
        watchctl = at(os.path.join(args.bindir, "watchctl"))
        r = run([watchd, "--version"])
        f.check(r.returncode == 0 and r.stdout == "watchd %s\n" % args.version,
                "installed watchd --version: exit %d, %r" %
                (r.returncode, r.stdout))
        r = run([watchctl, "--help"])
        f.check(r.returncode == 0 and r.stdout.startswith("usage: watchctl"),
                "installed watchctl --help: exit %d, %r" %
                (r.returncode, r.stdout[:200]))
        config = at(os.path.join(confdir, "watchd.yaml"))
        r = run([watchd, "-c", config, "--check-config"])
        f.check(r.returncode == 0, "the installed configuration does not "
                "validate:\n" + r.stdout + r.stderr)

        # The unit: the shipped one, with its paths following the install.
        unit = open(at(os.path.join(args.unitdir, "watchd.service"))).read()
        conf = os.path.join(confdir, "watchd.yaml")
        want = {
            "ExecStartPre": "%s -c %s --check-config" %
                            (os.path.join(args.bindir, "watchd"), conf),
            "ExecStart": "%s -c %s" % (os.path.join(args.bindir, "watchd"),
                                       conf),
            "ExecReload": "%s reload" % os.path.join(args.bindir, "watchctl"),
        }
        for key, value in want.items():
            got = re.findall(r"^%s=(.*)$" % key, unit, re.M)
            f.check(got == [value], "installed unit: %s=%s, expected %s" %
                    (key, got, value))
        source = open(os.path.join(args.source_dir,
                                   "systemd/watchd.service")).read()
        f.check(len(unit.split("\n")) == len(source.split("\n")),
                "the installed unit is not the shipped one")

        # man finds and formats the installed pages.
        env = dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80",
                   LC_ALL="C.UTF-8")
        env.pop("MANOPT", None)
        r = run(["man", "-l", at(os.path.join(args.mandir, "man8/watchd.8"))],
                env=env)
        f.check(r.returncode == 0 and "watchd - health-check watchdog"
                in r.stdout, "man -l watchd.8: exit %d\n%s" %
                (r.returncode, r.stderr))
        for section, page, title in (("5", "watchd.yaml", "WATCHD.YAML(5)"),
                                     ("8", "watchctl", "WATCHCTL(8)")):
            r = run(["man", "-M", at(args.mandir), section, page], env=env)
            f.check(r.returncode == 0 and title in r.stdout,
                    "man -M ... %s %s: exit %d\n%s" %
                    (section, page, r.returncode, r.stderr))

        # The completion loads, and completes the commands.
        completion = at(os.path.join(args.datadir,
                                     "bash-completion/completions/watchctl"))
        r = run(["bash", "-c",
                 'source "$1"; COMP_WORDS=(watchctl re); COMP_CWORD=1; '
                 '_watchctl; echo "${COMPREPLY[*]}"', "bash", completion])
        f.check(r.returncode == 0 and set(r.stdout.split()) >= {
            "restart", "resume", "reload"},
                "bash completion: exit %d, %r %r" %
                (r.returncode, r.stdout, r.stderr))

        # A reinstall keeps what the administrator changed.
        edited = {}
        for path in (os.path.join(confdir, "watchd.yaml"),
                     os.path.join(args.sysconfdir, "logrotate.d/watchd")):
            with open(at(path), "a") as out:
                out.write("# a local change\n")
            edited[path] = open(at(path)).read()
        second = install(args, root)
        f.check(second.returncode == 0, "second cmake --install failed:\n" +
                second.stdout + second.stderr)
        for path, text in edited.items():
            f.check(open(at(path)).read() == text,
                    "a reinstall overwrote the local change to " + path)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return report(f)


def report(f):
    for item in f.items:
        print(item, file=sys.stderr)
    if f.items:
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
