/* SPDX-License-Identifier: MIT */
/* The rules directories policy; see rules-dirs.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "shared/cleanup.h"
#include "shared/rules-dirs.h"

int rules_dirs_default(const char *config_path, RulesDirs *ret) {
        _cleanup_(rules_dirs_done) RulesDirs d = {};
        const char *env = getenv("APPWATCH_RULES_DIR");
        const char *slash;

        d.dirs[d.n] = strdup(env && env[0] ? env : PKGDATADIR "/rules.d");
        if (!d.dirs[d.n++])
                return -ENOMEM;

        slash = config_path ? strrchr(config_path, '/') : NULL;
        if (slash) {
                if (asprintf(&d.dirs[d.n], "%.*s/rules.d", (int) (slash - config_path),
                             config_path) < 0)
                        d.dirs[d.n] = NULL;
        } else
                /* A configuration file named without a directory is in the
                 * working directory, and so are its local rules. */
                d.dirs[d.n] = strdup("rules.d");
        if (!d.dirs[d.n++])
                return -ENOMEM;

        *ret = d;
        d = (RulesDirs) {};
        return 0;
}

void rules_dirs_done(RulesDirs *d) {
        for (size_t i = 0; i < d->n; i++)
                free(d->dirs[i]);
        *d = (RulesDirs) {};
}

size_t rules_dirs_count_existing(const char *const *dirs, size_t n) {
        size_t found = 0;

        for (size_t i = 0; i < n; i++) {
                struct stat st;

                if (stat(dirs[i], &st) >= 0 && S_ISDIR(st.st_mode))
                        found++;
        }
        return found;
}

char *rules_dirs_join(const char *const *dirs, size_t n) {
        char *s = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&s, &len);
        if (!f)
                return NULL;
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s", i == 0 ? "" : i + 1 == n ? " and " : ", ", dirs[i]);
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}
