# SPDX-License-Identifier: MIT
"""What the benchmarks share: the daemon of a build directory, and
percentiles."""

import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))


def pct(values, p):
    """The p-th percentile by nearest rank (values not empty)."""
    v = sorted(values)
    return v[max(0, math.ceil(p / 100.0 * len(v)) - 1)]


def awtest_for(build):
    """tests/lib/awtest, run against the binaries of BUILD."""
    os.environ["APPWATCHD"] = os.path.abspath(os.path.join(build, "appwatchd"))
    os.environ["APPWATCHCTL"] = os.path.abspath(os.path.join(build, "appwatchctl"))
    import awtest
    return awtest
