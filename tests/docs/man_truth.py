#!/usr/bin/env python3
"""The man pages are true to the code.

Enumerates, from the sources and the built programs, what the pages must
describe, and fails naming whatever a page leaves out:

- watchd.yaml(5): every key the configuration parser accepts. Every map of
  known keys goes through NodeReader::ForEachField(node, KEYS, ...), so the
  key lists are read from the KEYS argument of every such call in
  src/config/ (resolved to its constexpr array, through ConcatKeys). A call
  whose keys cannot be resolved fails the test rather than being skipped,
  so a new parser cannot slip past it. Each list must be the .TP terms of
  one group of the page: a section (.SH/.SS) or an indented block (.RS) in
  it, so `max` of restart_limit is not satisfied by `max` of
  restart_backoff. The values of every fixed choice (reader.Choice) and
  every placeholder ({program}, {service}, ...) must appear too.
- watchd(8), watchctl(8): every option of `--help` and of the getopt table
  is an OPTIONS term; every exit code an EXIT STATUS term; every watchctl
  command (of `--help` and of the dispatch in watchctl_main.cc) a COMMANDS
  term; every signal the daemon handles a SIGNALS term; every variable the
  programs getenv() an ENVIRONMENT term.

--self-test removes one term of each kind from a copy of the pages and
checks that each removal is caught, so the test cannot pass vacuously.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

# --- C++ sources ----------------------------------------------------------


def strip_comments(text):
    """Blanks out comments (offsets kept), leaving string literals alone."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        else:
            i += 1
    return "".join(out)


def block_ends(text):
    """Maps the offset of each '{' that opens a scope to its '}'.

    Namespace blocks are left out: names declared in them stay visible
    after they close, as far as this file is concerned.
    """
    ends = {}
    stack = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c == "{":
            stack.append(i)
        elif c == "}" and stack:
            ends[stack.pop()] = i
        i += 1
    scopes = {}
    for start, end in ends.items():
        before = text[max(0, start - 80):start]
        if re.search(r"\bnamespace(\s+\w+)?\s*$", before):
            continue
        scopes[start] = end
    return scopes


STRING_ARRAY = re.compile(
    r"constexpr\s+(?:std::string_view\s+(\w+)\s*\[\s*\w*\s*\]"
    r"|std::array<\s*std::string_view\s*,\s*\w+\s*>\s+(\w+))"
    r"\s*=\s*\{([^}]*)\}\s*;")
CONCAT = re.compile(
    r"constexpr\s+auto\s+(\w+)\s*=\s*"
    r"ConcatKeys\(\s*(\w+)\s*,\s*(\w+)\s*\)\s*;")


class Definitions:
    """The constexpr key arrays of a set of files, with their scopes."""

    def __init__(self, paths):
        self.defs = []  # (path, offset, scope_end, name, value)
        self.texts = {}
        for path in paths:
            text = strip_comments(open(path, encoding="utf-8").read())
            self.texts[path] = text
            scopes = block_ends(text)
            header = path.endswith(".h")

            def scope_end(offset):
                inner = [(s, e) for s, e in scopes.items() if s < offset < e]
                if header or not inner:
                    return len(text)
                return max(inner)[1]

            for m in STRING_ARRAY.finditer(text):
                name = m.group(1) or m.group(2)
                values = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(3))
                self.defs.append((path, m.start(), scope_end(m.start()), name,
                                  ("array", values), header))
            for m in CONCAT.finditer(text):
                self.defs.append((path, m.start(), scope_end(m.start()),
                                  m.group(1), ("concat", [m.group(2),
                                                          m.group(3)]),
                                  header))

    def resolve(self, path, offset, name):
        """The key lists `name` stands for at `offset` of `path`, or None.

        A ConcatKeys of two lists gives both lists, each checked alone.
        """
        local = [d for d in self.defs
                 if d[0] == path and d[3] == name and d[1] < offset <= d[2]]
        if local:
            found = max(local, key=lambda d: d[1])
        else:
            shared = [d for d in self.defs if d[5] and d[3] == name]
            if len(shared) != 1:
                return None
            found = shared[0]
        kind, value = found[4]
        if kind == "array":
            return [value]
        lists = []
        for part in value:
            sub = self.resolve(found[0], found[1], part)
            if sub is None:
                return None
            lists += sub
        return lists


def config_sources(src):
    files = sorted(glob.glob(os.path.join(src, "src/config/*.cc")) +
                   glob.glob(os.path.join(src, "src/config/*.h")))
    return [f for f in files if not f.endswith("_test.cc")]


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def parser_keys(src, problems):
    """[(where, [keys])] for every ForEachField call of the parser."""
    files = config_sources(src)
    defs = Definitions(files)
    out = []
    for path in files:
        text = defs.texts[path]
        for m in re.finditer(r"\bForEachField\s*\(", text):
            if re.search(r"\bvoid\s+(NodeReader::)?$",
                         text[max(0, m.start() - 40):m.start()]):
                continue  # its declaration or definition, not a call
            args = re.match(r"\s*[^,;]+,\s*([^,;]+?)\s*,", text[m.end():])
            where = "%s:%d" % (os.path.relpath(path, src),
                               line_of(text, m.start()))
            if not args:
                problems.append(where + ": cannot read the keys argument of "
                                "ForEachField")
                continue
            arg = args.group(1)
            if arg == "{}":
                continue  # a map that takes no keys (process: {})
            lists = defs.resolve(path, m.start(), arg) if re.fullmatch(
                r"\w+", arg) else None
            if lists is None:
                problems.append(
                    "%s: cannot find the keys '%s' of ForEachField: name "
                    "them with a constexpr std::string_view array (or "
                    "std::array, or ConcatKeys of such) that this test "
                    "can read" % (where, arg))
                continue
            for keys in lists:
                out.append((where, keys))
    return out, defs


def call_arrays(src, defs, pattern, problems, what):
    """Values of the arrays passed as the last argument matched by pattern."""
    out = []
    for path, text in defs.texts.items():
        for m in re.finditer(pattern, text):
            name = m.group(1)
            lists = defs.resolve(path, m.start(), name)
            where = "%s:%d" % (os.path.relpath(path, src),
                               line_of(text, m.start()))
            if lists is None:
                problems.append("%s: cannot find the %s '%s'" %
                                (where, what, name))
                continue
            for values in lists:
                out.append((where, name, values))
    return out


# --- man pages -------------------------------------------------------------

ESCAPES = [
    (r"\-", "-"), (r"\(aq", "'"), (r"\(dq", '"'), (r"\(ga", "`"),
    (r"\(ha", "^"), (r"\(ti", "~"), (r"\(lq", '"'), (r"\(rq", '"'),
    (r"\(em", " "), (r"\(mu", "x"), (r"\(bu", " "), (r"\&", ""), (r"\ ", " "),
    (r"\e", "\\"),
]


def detroff(line):
    """Plain text of one line of man source: no macro name, fonts, quotes."""
    m = re.match(r"^\.(B|I|BR|RB|BI|IB|IR|RI|SM|SB)\s+(.*)$", line)
    if m:
        line = m.group(2).replace('"', "")
    elif line.startswith("."):
        return ""
    line = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", line)
    for esc, plain in ESCAPES:
        line = line.replace(esc, plain)
    return line


def first_word(term):
    words = term.split()
    return words[0].rstrip(":,") if words else ""


def parse_page(path):
    """Sections, and the groups of .TP terms in them.

    Returns {section title: [terms]} for top-level terms of each .SH/.SS,
    a list of term groups (each section's top level and each .RS block),
    and the plain text of the page.
    """
    lines = open(path, encoding="utf-8").read().split("\n")
    sections = {}
    groups = []
    text = []
    section = None
    stack = []  # term lists of the open .RS blocks
    expect_term = False
    for raw in lines:
        if raw.startswith('.\\"'):
            continue
        m = re.match(r'^\.(SH|SS)\s+"?([^"]*)"?\s*$', raw)
        if m:
            section = m.group(2).strip()
            sections[section] = []
            stack = [sections[section]]
            groups.append(sections[section])
            expect_term = False
            continue
        if re.match(r"^\.RS\b", raw):
            stack.append([])
            groups.append(stack[-1])
            continue
        if re.match(r"^\.RE\b", raw):
            if len(stack) > 1:
                stack.pop()
            continue
        if re.match(r"^\.TP\b", raw):
            expect_term = True
            continue
        plain = detroff(raw)
        text.append(plain)
        if expect_term and section is not None:
            stack[-1].append(plain)
            expect_term = False
    return sections, groups, "\n".join(text)


def terms_in(sections, title):
    return sections.get(title, [])


def options_of(terms):
    out = set()
    for term in terms:
        for word in term.replace(",", " ").split():
            if word.startswith("-"):
                out.add(word.split("=")[0])
    return out


# --- programs ----------------------------------------------------------------

OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][A-Za-z-]*)")


def help_text(program):
    run = subprocess.run([program, "--help"], capture_output=True, text=True,
                         timeout=60)
    if run.returncode != 0:
        raise SystemExit("%s --help exited %d" % (program, run.returncode))
    return run.stdout


def source_options(path):
    text = strip_comments(open(path, encoding="utf-8").read())
    longs = set("--" + n for n in re.findall(
        r'\{\s*"([\w-]+)"\s*,\s*(?:no|required|optional)_argument', text))
    shorts = set()
    m = re.search(r'getopt_long\([^,]+,[^,]+,\s*"([^"]*)"', text)
    if m:
        shorts = set("-" + c for c in m.group(1) if c.isalnum())
    return longs | shorts


def help_commands(text):
    m = re.search(r"^commands:\n((?:  .*\n|\s*\n)*?)\n", text, re.M)
    if not m:
        return set()
    return set(re.findall(r"^  (\w+)", m.group(1), re.M))


# --- the check -------------------------------------------------------------


def require(problems, page, what, wanted, have, source):
    for item in sorted(wanted - have):
        problems.append("%s: %s %s (%s) is not documented" %
                        (page, what, item, source))


def check(src, man, watchd, watchctl):
    problems = []
    page5 = os.path.join(man, "watchd.yaml.5")
    page_d = os.path.join(man, "watchd.8")
    page_ctl = os.path.join(man, "watchctl.8")

    # watchd.yaml(5): keys, choices, placeholders.
    key_lists, defs = parser_keys(src, problems)
    if len(key_lists) < 10:
        problems.append("found only %d key lists in src/config: the test no "
                        "longer reads the parser" % len(key_lists))
    sections, groups, text5 = parse_page(page5)
    group_words = [set(first_word(t) for t in g) for g in groups]
    for where, keys in key_lists:
        if not keys:
            continue
        if any(set(keys) <= words for words in group_words):
            continue
        best = max(group_words, key=lambda w: len(set(keys) & w))
        missing = sorted(set(keys) - best if best & set(keys) else keys)
        problems.append(
            "%s: the keys %s (%s) are not .TP terms of one section or .RS "
            "block; missing: %s" %
            (os.path.basename(page5), ", ".join(keys), where,
             ", ".join(missing)))
    for where, name, values in call_arrays(
            src, defs, r"\bChoice\s*\([^;]*?,\s*(\w+)\s*\)", problems,
            "choices"):
        for value in values:
            if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(value),
                             text5):
                problems.append("%s: value '%s' of %s (%s) is not documented"
                                % (os.path.basename(page5), value, name,
                                   where))
    for where, name, values in call_arrays(
            src, defs, r"\bCheck(?:Argv|Text)Placeholders\s*\([^;]*?,\s*"
            r"(\w+)\s*\)", problems, "placeholders"):
        for value in values:
            if "{%s}" % value not in text5:
                problems.append("%s: placeholder {%s} of %s (%s) is not "
                                "documented" % (os.path.basename(page5),
                                                value, name, where))

    for page, program, main in ((page_d, watchd, "src/main.cc"),
                                (page_ctl, watchctl, "src/watchctl_main.cc")):
        name = os.path.basename(page)
        sections, _, _ = parse_page(page)
        usage = help_text(program)
        main_path = os.path.join(src, main)
        main_text = strip_comments(open(main_path, encoding="utf-8").read())
        documented = options_of(terms_in(sections, "OPTIONS"))
        from_help = set(OPTION.findall(usage))
        if len(from_help) < 3:
            problems.append("%s --help: found only %s options" %
                            (program, sorted(from_help)))
        require(problems, name, "option", from_help, documented,
                "in --help")
        require(problems, name, "option", source_options(main_path),
                documented, "in " + main)
        exits = set(first_word(t) for t in terms_in(sections, "EXIT STATUS"))
        codes = set(re.findall(r"constexpr int kExit\w+ = (\d+);", main_text))
        codes |= set(re.findall(r"\breturn (\d+);", main_text))
        if not codes:
            problems.append(main + ": found no exit codes")
        require(problems, name, "exit code", codes, exits, "in " + main)

    # watchctl(8): commands.
    sections, _, _ = parse_page(page_ctl)
    documented = set(first_word(t) for t in terms_in(sections, "COMMANDS"))
    usage = help_text(watchctl)
    from_help = help_commands(usage)
    if len(from_help) < 5:
        problems.append("watchctl --help: found only commands %s" %
                        sorted(from_help))
    require(problems, "watchctl.8", "command", from_help, documented,
            "in --help")
    ctl_main = strip_comments(open(os.path.join(src, "src/watchctl_main.cc"),
                                   encoding="utf-8").read())
    require(problems, "watchctl.8", "command",
            set(re.findall(r'\bcmd == "(\w+)"', ctl_main)), documented,
            "in src/watchctl_main.cc")

    # watchd(8): signals.
    sections_d, _, _ = parse_page(page_d)
    documented = set()
    for term in terms_in(sections_d, "SIGNALS"):
        documented |= set(re.findall(r"\bSIG[A-Z][A-Z0-9]*\b", term))
    handled = set()
    for path in glob.glob(os.path.join(src, "src/daemon/*.cc")) + [
            os.path.join(src, "src/main.cc")]:
        if path.endswith("_test.cc"):
            continue
        text = strip_comments(open(path, encoding="utf-8").read())
        handled |= set(re.findall(r"\bcase (SIG[A-Z][A-Z0-9]*):", text))
        handled |= set(re.findall(r"\bsignal\((SIG[A-Z][A-Z0-9]*)", text))
        # The set the daemon takes from the kernel (signalfd), SIGTERM in it.
        for block in re.findall(r"\{([^{}]*\bSIGTERM\b[^{}]*)\}", text):
            handled |= set(re.findall(r"\bSIG[A-Z][A-Z0-9]*\b", block))
    if "SIGHUP" not in handled:
        problems.append("src/daemon: found no signal handling (SIGHUP)")
    require(problems, "watchd.8", "signal", handled, documented,
            "handled in src/daemon or src/main.cc")

    # Environment: watchctl's variables in watchctl(8), the rest in watchd(8).
    sections_ctl, _, _ = parse_page(page_ctl)
    for path in sorted(glob.glob(os.path.join(src, "src/**/*.cc"),
                                 recursive=True)):
        if path.endswith("_test.cc"):
            continue
        text = strip_comments(open(path, encoding="utf-8").read())
        names = set(re.findall(r'\bgetenv\("(\w+)"\)', text))
        if not names:
            continue
        ctl = "watchctl" in os.path.relpath(path, src)
        secs = sections_ctl if ctl else sections_d
        documented = set()
        for term in terms_in(secs, "ENVIRONMENT"):
            documented |= set(w.strip(",") for w in term.split())
        require(problems, "watchctl.8" if ctl else "watchd.8",
                "environment variable", names, documented,
                "read in " + os.path.relpath(path, src))
    return problems


def remove_term(path, word):
    """Deletes the first .TP term whose first word is `word`, with its .TP."""
    lines = open(path, encoding="utf-8").read().split("\n")
    for i in range(len(lines) - 1):
        if re.match(r"^\.TP\b", lines[i]) and first_word(
                detroff(lines[i + 1])) == word:
            del lines[i:i + 2]
            open(path, "w", encoding="utf-8").write("\n".join(lines))
            return True
    return False


def self_test(src, man, watchd, watchctl):
    """Each kind of omission must be caught; returns the failures."""
    cases = [
        ("watchd.yaml.5", "then", True),        # restart_limit.then
        ("watchd.yaml.5", "tls_verify", True),  # first of the http probe's
        ("watchd.yaml.5", "daemon", True),      # top level
        ("watchd.yaml.5", "interval", True),    # check keys
        ("watchd.8", "--check-config", True),
        ("watchd.8", "SIGHUP", True),
        ("watchd.8", "SIGUSR2", True),  # of the signalfd set only
        ("watchd.8", "JOURNAL_STREAM", True),
        ("watchd.8", "2", True),
        ("watchctl.8", "reload", True),
        ("watchctl.8", "--timeout", True),
        ("watchctl.8", "4", True),
        ("watchctl.8", "NO_COLOR", True),
    ]
    failures = []
    for page, word, must_fail in cases:
        tmp = tempfile.mkdtemp(prefix="man_truth.")
        try:
            for f in os.listdir(man):
                shutil.copy(os.path.join(man, f), tmp)
            if not remove_term(os.path.join(tmp, page), word):
                if must_fail:
                    failures.append("self-test: no term '%s' in %s to remove"
                                    % (word, page))
                continue
            caught = bool(check(src, tmp, watchd, watchctl))
            if must_fail and not caught:
                failures.append("self-test: removing '%s' from %s went "
                                "unnoticed" % (word, page))
        finally:
            shutil.rmtree(tmp)
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--man-dir")
    ap.add_argument("--watchd", required=True)
    ap.add_argument("--watchctl", required=True)
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    man = args.man_dir or os.path.join(args.source_dir, "man")
    if args.self_test:
        problems = self_test(args.source_dir, man, args.watchd, args.watchctl)
    else:
        problems = check(args.source_dir, man, args.watchd, args.watchctl)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print("%d problem%s" % (len(problems), "" if len(problems) == 1 else
                                "s"), file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
