#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Detection throughput versus grep, on the same file, in the same run.

Generates (once, seeded) a realistic build log of --size-mb MB, then runs
  - bench-detect (the engine, full rule set incl. the built-in defaults), and
  - LC_ALL=C grep -E -c -f PATTERNS FILE, PATTERNS being the same rules'
    patterns translated from PCRE2 to POSIX ERE,
each --runs times, and prints MB/s, lines/s, peak RSS and the ratio of the
best runs. It never fails on timing: figures depend on the machine and on
what else runs on it.

usage: bench.py --bench-detect PATH --rules-dir DIR [--workdir DIR] [--size-mb 200] [--runs 3]
"""
import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def pcre_to_ere(p):
    """Translates the PCRE2 subset used by the rule files to ERE; returns None
    for a pattern that has no ERE equivalent."""
    icase = False
    m = re.match(r"^\(\?([a-z]+)\)", p)
    if m:
        icase = "i" in m.group(1)
        p = p[m.end():]
    # Multi-line tails cannot match in a line-based grep: keep the first line's part.
    p = p.split("(?s)")[0]
    # grep never sees a newline inside a line
    p = p.replace("[^\\n]", ".")
    out = []
    i = 0
    in_class = False
    while i < len(p):
        c = p[i]
        if c == "\\" and i + 1 < len(p):
            e = p[i + 1]
            i += 2
            if e == "x" and p[i:i + 2] and re.match(r"[0-9a-fA-F]{2}", p[i:i + 2]):
                # the byte itself (the rules are compiled without PCRE2_UTF);
                # written back as that one byte by surrogateescape
                b = int(p[i:i + 2], 16)
                out.append(chr(b) if b < 0x80 else chr(0xDC00 + b))
                i += 2
                continue
            rep = {"d": ("[0-9]", "0-9"), "s": ("[[:space:]]", "[:space:]"), "S": ("[^[:space:]]", None),
                   "w": ("[[:alnum:]_]", "[:alnum:]_"), "W": ("[^[:alnum:]_]", None)}
            if e in rep:
                r = rep[e][1] if in_class else rep[e][0]
                if r is None:
                    return None
                out.append(r)
            elif e == "K":
                pass
            elif e == "z" or e == "Z":
                out.append("$")
            elif e in "bB<>" and not in_class:
                out.append("\\" + e)
            elif e.isalnum():
                return None
            else:
                out.append("\\" + e if not in_class else e)
            continue
        if in_class:
            if c == "]" and out and out[-1] not in ("[", "[^"):
                in_class = False
            if icase and c.isascii() and c.isalpha():
                out.append(c.lower() + c.upper())
            else:
                out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            if p[i + 1:i + 2] == "^":
                out.append("[^")
                i += 2
            else:
                out.append("[")
                i += 1
            if p[i:i + 1] == "]":
                out.append("]")
                i += 1
            continue
        if c == "(" and p[i + 1:i + 2] == "?":
            m = re.match(r"\(\?(?::|<[A-Za-z_][A-Za-z0-9_]*>|P<[A-Za-z_][A-Za-z0-9_]*>)", p[i:])
            if not m:
                return None
            out.append("(")
            i += m.end()
            continue
        if c in "*+?}" and p[i + 1:i + 2] == "?":
            out.append(c)
            i += 2
            continue
        if icase and c.isascii() and c.isalpha():
            out.append("[%s%s]" % (c.lower(), c.upper()))
        else:
            out.append(c)
        i += 1
    return "".join(out)


def run_timed(cmd, env=None):
    """Runs cmd under /usr/bin/time; returns (seconds, peak RSS KiB, stdout)."""
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True, env=env)
    t = time.monotonic() - t0
    if p.returncode not in (0, 1):
        sys.exit("command failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
    rss = int(p.stderr.strip().splitlines()[-1])
    return t, rss, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-detect", required=True)
    ap.add_argument("--rules-dir", required=True)
    ap.add_argument("--workdir", default=".")
    ap.add_argument("--size-mb", type=int, default=int(os.environ.get("BENCH_SIZE_MB", "200")))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    ap.add_argument("--seed", type=int, default=20240921)
    a = ap.parse_args()

    log = os.path.join(a.workdir, "bench-%dM-%d.log" % (a.size_mb, a.seed))
    if not os.path.exists(log):
        print("generating %s ..." % log, flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "gen-log.py"), log + ".tmp",
                        "--size-mb", str(a.size_mb), "--seed", str(a.seed)], check=True)
        os.rename(log + ".tmp", log)
    size = os.path.getsize(log)
    with open(log, "rb") as f:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))

    pats = subprocess.run([a.bench_detect, "--rules-dir=" + a.rules_dir, "--print-patterns"],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    ere, skipped = [], []
    for p in pats:
        e = pcre_to_ere(p)
        if e is None or subprocess.run(["grep", "-E", "-e", e, "/dev/null"], capture_output=True,
                                       env=dict(os.environ, LC_ALL="C")).returncode == 2:
            skipped.append(p)
        else:
            ere.append(e)
    pfile = os.path.join(a.workdir, "bench-patterns.ere")
    # Literals in other scripts are UTF-8 text, \xHH escapes raw bytes;
    # grep runs with LC_ALL=C, so both are byte sequences to it.
    with open(pfile, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write("\n".join(ere) + "\n")
    print("file: %s, %.1f MB, %d lines; %d patterns (%d without an ERE equivalent, left out of grep)"
          % (log, size / 1e6, lines, len(pats), len(skipped)))
    for p in skipped:
        print("  not in grep: %s" % p)

    env_c = dict(os.environ, LC_ALL="C")
    best_e = best_g = None
    for i in range(a.runs):
        t, rss, out = run_timed([a.bench_detect, "--rules-dir=" + a.rules_dir, log])
        print("  run %d engine: %.3f s, peak RSS %d KiB | %s" % (i + 1, t, rss, out.strip()))
        if best_e is None or t < best_e[0]:
            best_e = (t, rss)
        t, rss, out = run_timed(["grep", "-E", "-c", "-f", pfile, log], env=env_c)
        print("  run %d grep:   %.3f s, peak RSS %d KiB, %s matching lines" % (i + 1, t, rss, out.strip()))
        if best_g is None or t < best_g[0]:
            best_g = (t, rss)

    def line(name, b):
        return "%-8s %8.1f MB/s %12.0f lines/s   peak RSS %7d KiB" % (name, size / 1e6 / b[0], lines / b[0], b[1])

    print("best of %d (wall time incl. process start):" % a.runs)
    print(line("engine", best_e))
    print(line("grep", best_g))
    print("ratio engine/grep: %.2fx" % (best_g[0] / best_e[0]))


if __name__ == "__main__":
    main()
