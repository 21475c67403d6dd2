#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Split the real-world corpus into a tuning part and a held-out part.

The split is a pure function of the seed and of the labelled file list, so
it can be re-derived and checked at any time: within each category (the
split is stratified), the files are ranked by SHA-256 of "<seed>:<file>"
(a random order fixed by the seed) and the first
ceil(HELDOUT_FRACTION * n) of them are held out. Adding an excerpt later
moves at most one other excerpt of its category across the boundary. Rules
are tuned on the `tune` part only; the `heldout` part is scored, never read
for tuning.

Excerpts added after the one-time split (numbered above LAST_SPLIT_FILE,
collected later as more tuning material) are always `tune`: the split of
the first LAST_SPLIT_FILE excerpts is computed from them alone, so the
held-out part stays exactly what it was and is never read.

    split.py [--check] [--seed N] [labels.tsv]

Without --check the split column of labels.tsv is (re)written; with --check
the file is left alone and the exit status says whether its split column is
the one the seed gives (0) or not (1).
"""
import argparse
import hashlib
import math
import os
import sys

SEED = 20261201
HELDOUT_FRACTION = 0.35
# The highest file number of the corpus as it was split once, before tuning.
LAST_SPLIT_FILE = 291
COLUMNS = ["file", "provenance", "category", "severity", "fix", "split", "note"]


def after_split(f):
    return int(f.split("-", 1)[0]) > LAST_SPLIT_FILE


def assign(rows, seed):
    by_cat = {}
    split = {r["file"]: "tune" for r in rows if after_split(r["file"])}
    for r in rows:
        if after_split(r["file"]):
            continue
        by_cat.setdefault(r["category"], []).append(r["file"])
    for cat in sorted(by_cat):
        files = sorted(by_cat[cat], key=lambda f: hashlib.sha256(("%d:%s" % (seed, f)).encode()).hexdigest())
        k = math.ceil(HELDOUT_FRACTION * len(files))
        for i, f in enumerate(files):
            split[f] = "heldout" if i < k else "tune"
    return split


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("labels", nargs="?", default=os.path.join(here, "labels.tsv"))
    a = ap.parse_args()

    header, rows = [], []
    with open(a.labels, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#") or not line:
                header.append(line)
                continue
            cols = line.split("\t")
            if len(cols) != len(COLUMNS):
                sys.exit("%s:%d: %d columns, expected %d (%s)" % (a.labels, n, len(cols), len(COLUMNS),
                                                                 ", ".join(COLUMNS)))
            rows.append(dict(zip(COLUMNS, cols)))
    seen = set()
    for r in rows:
        if r["file"] in seen:
            sys.exit("%s: %s is listed twice" % (a.labels, r["file"]))
        seen.add(r["file"])
        if not os.path.isfile(os.path.join(os.path.dirname(a.labels), "logs", r["file"])):
            sys.exit("%s: logs/%s does not exist" % (a.labels, r["file"]))

    split = assign(rows, a.seed)
    if a.check:
        bad = [r["file"] for r in rows if r["split"] != split[r["file"]]]
        for b in bad:
            print("split of %s is %s, seed %d gives %s" % (b, next(r["split"] for r in rows if r["file"] == b),
                                                          a.seed, split[b]))
        return 1 if bad else 0
    for r in rows:
        r["split"] = split[r["file"]]
    with open(a.labels, "w", encoding="utf-8") as f:
        for h in header:
            f.write(h + "\n")
        for r in rows:
            f.write("\t".join(r[c] for c in COLUMNS) + "\n")
    held = sum(1 for r in rows if r["split"] == "heldout")
    print("%d excerpts, %d held out (%.1f%%), %d for tuning" % (len(rows), held, 100.0 * held / len(rows),
                                                              len(rows) - held))
    return 0


if __name__ == "__main__":
    sys.exit(main())
