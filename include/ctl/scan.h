/* SPDX-License-Identifier: MIT */
/*
 * appwatchctl scan [--json] [--language=ko|en] [--rules-dir=DIR]... FILE...|-
 *
 * The users' guide's "one-off check": runs the detection engine and the
 * offline analyzer over files (or stdin) without the daemon and prints one
 * record per finding. Rules come from appwatchd's directories
 * (shared/rules-dirs.h) unless --rules-dir= names others; when none of them
 * exists, stderr says so. Single-threaded; writes to stdout/stderr only.
 */
#pragma once

/* argv[0] is "scan". Returns the process exit status: 0 when nothing was
 * found, 1 when there are findings, 2 on a usage or input error. */
int verb_scan(int argc, char **argv);
