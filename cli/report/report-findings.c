/* SPDX-License-Identifier: MIT */
/*
 * report-findings: the leaking caches of a whole run, one per cache
 * identity, for the gate and the SARIF file (one result per leaking cache,
 * located at the decorated function).
 *
 * A cache of a test session counts by what its tests were blamed for
 * (report-tests.c): a singleton warmed once, an allow-listed cache or
 * objects pinned by the test runner itself outside any test are not
 * findings. Everywhere else, what the last sample of each process pins.
 * Quadratic only in the number of findings (a handful), linear otherwise.
 * Thread context: none; never logs.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

struct acc {
    struct report_finding *v;
    size_t n, cap;
};

/* The finding with this identity (strings are interned), created when new. */
static struct report_finding *
finding_for(struct acc *a, const char *module, const char *qualname, const char *file, int64_t line,
            const char *kind)
{
    for (size_t i = 0; i < a->n; i++) {
        struct report_finding *f = &a->v[i];

        if (f->module == module && f->qualname == qualname && f->file == file && f->line == line &&
            f->kind == kind) {
            return f;
        }
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        struct report_finding *v = realloc(a->v, cap * sizeof(*v));

        if (v == NULL) {
            return NULL;
        }
        a->v = v;
        a->cap = cap;
    }
    memset(&a->v[a->n], 0, sizeof(a->v[a->n]));
    a->v[a->n] = (struct report_finding){
        .module = module,
        .qualname = qualname,
        .file = file,
        .line = line,
        .kind = kind,
        .maxsize = -1,
        .verdict = REPORT_VERDICT_BOUNDED,
        .pid = -1,
    };
    return &a->v[a->n++];
}

static void
merge_verdict(struct report_finding *f, int64_t maxsize, enum report_verdict v)
{
    if (v > f->verdict) {
        f->verdict = v;
    }
    if (f->verdict == REPORT_VERDICT_LEAK) {
        f->maxsize = -1;
    } else if (maxsize > f->maxsize) {
        f->maxsize = maxsize;
    }
}

static int
from_tests(const struct report *r, struct acc *a)
{
    for (size_t i = 0; i < r->ntests; i++) {
        const struct report_test *t = r->tests[i];

        for (size_t k = 0; k < t->ncaches; k++) {
            const struct report_test_cache *c = &t->caches[k];
            struct report_finding *f;

            if (c->blame != REPORT_BLAMED) {
                continue;
            }
            f = finding_for(a, c->module, c->qualname, c->file, c->line, c->kind);
            if (f == NULL) {
                return -ENOMEM;
            }
            merge_verdict(f, c->maxsize,
                          c->maxsize < 0 ? REPORT_VERDICT_LEAK : REPORT_VERDICT_BOUNDED);
            f->pinned += c->new_pinned;
            f->ntests++;
            if (c->new_pinned > f->worst_new) {
                f->worst = t;
                f->worst_new = c->new_pinned;
                if (f->nprocs == 0) {
                    f->pid = t->proc->pid;
                }
            }
        }
    }
    return 0;
}

static int
from_processes(const struct report *r, const struct report_rules *rules, struct acc *a)
{
    for (size_t i = 0; i < r->nprocs; i++) {
        const struct report_process *p = r->procs[i];

        if (p->test_session) {
            continue;
        }
        for (size_t k = 0; k < p->ncaches; k++) {
            const struct report_cache *c = p->caches[k];
            struct report_finding *f;

            if (!report_cache_present(p, c) || c->verdict == REPORT_VERDICT_OK ||
                (rules != NULL &&
                 report_name_matches(c->module, c->qualname, rules->ignore, rules->nignore))) {
                continue;
            }
            f = finding_for(a, c->module, c->qualname, c->file, c->line, c->kind);
            if (f == NULL) {
                return -ENOMEM;
            }
            merge_verdict(f, c->maxsize, c->verdict);
            f->pinned += c->pinned;
            f->retained_bytes += c->retained_bytes;
            if (f->nprocs++ == 0) {
                f->pid = p->pid;
            }
        }
    }
    return 0;
}

static int
leaks_first(const void *pa, const void *pb)
{
    const struct report_finding *a = pa, *b = pb;

    if (a->verdict != b->verdict) {
        return a->verdict > b->verdict ? -1 : 1;
    }
    if (a->pinned != b->pinned) {
        return a->pinned > b->pinned ? -1 : 1;
    }
    return strcmp(a->qualname, b->qualname);
}

int
report_findings(const struct report *r, const struct report_rules *rules,
                struct report_finding **ret)
{
    struct acc a = {0};
    int rc;

    rc = from_tests(r, &a);
    if (rc == 0) {
        rc = from_processes(r, rules, &a);
    }
    if (rc < 0) {
        free(a.v);
        return rc;
    }
    if (a.n > 1) {
        qsort(a.v, a.n, sizeof(*a.v), leaks_first);
    }
    if (a.v == NULL) {
        a.v = malloc(sizeof(*a.v));
        if (a.v == NULL) {
            return -ENOMEM;
        }
    }
    *ret = a.v;
    return (int)a.n;
}
