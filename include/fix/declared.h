/* SPDX-License-Identifier: MIT */
/*
 * Whether an app declares a Python distribution as its dependency: the
 * evidence an automatic `pip install` needs beyond a log line. A name taken
 * from "No module named 'X'" alone may be the project's own module, a typo
 * (`reqeusts`), or a name someone registered on PyPI to catch such typos;
 * installing it runs that package's code. So an automatic pip fix runs only
 * for a distribution the app's own files name (or a well-known module's, or
 * one on [Fix] PipAllowlist=; the fixer checks those).
 *
 * Read, from the app's Directory=, without following symlinks, regular
 * files of at most FIX_DECLARED_MAX_FILE bytes:
 *   - requirements*.txt, and *.txt in requirements/: the name that starts each
 *     line (comments, options such as -r/-e/--index-url, URLs and paths are
 *     not names);
 *   - pyproject.toml: the strings of PEP 621 `dependencies = [...]` arrays
 *     (those under [project.optional-dependencies] too) and the keys of
 *     [tool.poetry.dependencies] and [tool.poetry.group.*.dependencies]
 *     tables (not `python`);
 *   - Pipfile: the keys of [packages] and [dev-packages].
 * setup.py and setup.cfg are not read (setup.py is code). Names compare in
 * their PEP 503 normal form. Thread-safe: it only reads files.
 */
#pragma once

#include <stddef.h>

#define FIX_DECLARED_MAX_FILE (1024 * 1024)

/*
 * Returns 1 when a file above names dist (a valid PEP 508 name), with
 * *ret_file (may be NULL) the malloc'ed name of the first one that does; 0
 * when none does; -EINVAL for an invalid dist or a relative directory;
 * -ENOMEM. Files that cannot be read are skipped.
 */
int fix_pip_declared(const char *directory, const char *dist, char **ret_file);
