/* SPDX-License-Identifier: MIT */
/* Test registry and runner; see tests.h. */

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "tests.h"

typedef struct {
        const char *name;
        TestFunc func;
} TestEntry;

static TestEntry tests[256];
static size_t n_tests;
static char *tmpdirs[64];
static size_t n_tmpdirs;

void test_register(const char *name, TestFunc f) {
        if (n_tests >= ELEMENTSOF(tests))
                abort();
        tests[n_tests++] = (TestEntry) { name, f };
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        (void) remove(path);
        return 0;
}

static void cleanup_tmpdirs(void) {
        if (getenv("TEST_KEEP_TMP"))
                return;
        for (size_t i = 0; i < n_tmpdirs; i++) {
                (void) nftw(tmpdirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
                free(tmpdirs[i]);
        }
}

char *test_tmpdir(void) {
        const char *base = getenv("TMPDIR") ?: "/tmp";
        char *p;

        if (asprintf(&p, "%s/appwatch-test.XXXXXX", base) < 0 || !mkdtemp(p))
                abort();
        if (n_tmpdirs < ELEMENTSOF(tmpdirs)) {
                if (n_tmpdirs == 0)
                        atexit(cleanup_tmpdirs);
                tmpdirs[n_tmpdirs++] = p;
        }
        return p;
}

char *test_write_file(const char *dir, const char *name, const char *data) {
        char *p;
        FILE *f;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                abort();
        f = fopen(p, "we");
        if (!f)
                abort();
        fputs(data, f);
        fclose(f);
        return p;
}

const char *test_srcdir(void) {
        return getenv("TEST_SRCDIR") ?: ".";
}

static bool selected(const char *name, int argc, char **argv) {
        if (argc <= 1)
                return true;
        for (int i = 1; i < argc; i++)
                if (strstr(name, argv[i]))
                        return true;
        return false;
}

int main(int argc, char **argv) {
        unsigned passed = 0, failed = 0, skipped = 0;

        for (size_t i = 0; i < n_tests; i++) {
                int r;

                if (!selected(tests[i].name, argc, argv))
                        continue;
                fprintf(stderr, "=== %s\n", tests[i].name);
                r = tests[i].func();
                if (r == EXIT_TEST_SKIP) {
                        fprintf(stderr, "--- SKIP %s\n", tests[i].name);
                        skipped++;
                } else if (r != 0) {
                        fprintf(stderr, "--- FAIL %s\n", tests[i].name);
                        failed++;
                } else {
                        fprintf(stderr, "--- ok %s\n", tests[i].name);
                        passed++;
                }
        }
        fprintf(stderr, "%u passed, %u failed, %u skipped\n", passed, failed, skipped);
        if (failed)
                return EXIT_FAILURE;
        if (passed == 0 && skipped > 0)
                return EXIT_TEST_SKIP;
        return EXIT_SUCCESS;
}

struct Store *test_open_store(void) {
        _cleanup_free_ char *p = NULL;
        Store *s = NULL;

        if (asprintf(&p, "%s/appwatch.db", test_tmpdir()) < 0 || store_open(p, &s) < 0)
                abort();
        return s;
}
