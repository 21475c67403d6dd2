/* SPDX-License-Identifier: MIT */
/* Finding lifecycle helpers. Pure; thread-safe. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detect/finding.h"
#include "shared/cleanup.h"

Finding *finding_free(Finding *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_params; i++) {
                free(f->params[i].name);
                free(f->params[i].value);
        }
        free(f->params);
        free(f->rule);
        free(f->fix);
        free(f->title);
        free(f->excerpt);
        free(f->stream);
        free(f);
        return NULL;
}

static int dup_str(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int finding_copy(const Finding *f, Finding **ret) {
        _cleanup_(finding_freep) Finding *c = NULL;

        c = calloc(1, sizeof(Finding));
        if (!c)
                return -ENOMEM;
        *c = *f;
        c->rule = c->fix = c->title = c->excerpt = c->stream = NULL;
        c->params = NULL;
        c->n_params = 0;
        if (dup_str(f->rule, &c->rule) < 0 || dup_str(f->fix, &c->fix) < 0 ||
            dup_str(f->title, &c->title) < 0 || dup_str(f->excerpt, &c->excerpt) < 0 ||
            dup_str(f->stream, &c->stream) < 0)
                return -ENOMEM;
        if (f->n_params > 0) {
                c->params = calloc(f->n_params, sizeof(DetectParam));
                if (!c->params)
                        return -ENOMEM;
                for (size_t i = 0; i < f->n_params; i++) {
                        c->n_params++;
                        if (dup_str(f->params[i].name, &c->params[i].name) < 0 ||
                            dup_str(f->params[i].value, &c->params[i].value) < 0)
                                return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(c);
        return 0;
}

const char *finding_get_param(const Finding *f, const char *name) {
        for (size_t i = 0; i < f->n_params; i++)
                if (strcmp(f->params[i].name, name) == 0)
                        return f->params[i].value;
        return NULL;
}
