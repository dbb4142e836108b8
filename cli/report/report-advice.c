/* SPDX-License-Identifier: MIT */
/*
 * report-advice: the fix that fits a cache that pins objects, shared by
 * the text and HTML reports, as prose lines (broken for the text report's
 * width), code lines and closing lines. Strings hold names of the analysed
 * program unescaped: each renderer escapes them for its medium.
 *
 * - a method whose every key is self alone: functools.cached_property;
 * - a method, when the recorded interpreter has functools.cached_method
 *   (the agent looks for it at run time; never assumed): that decorator;
 * - any other method: a per-instance lru_cache made in __init__;
 * - functions, class/static methods, per-instance caches: key on plain
 *   values, or bound the cache.
 * Thread context: none.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

static void __attribute__((format(printf, 4, 5)))
add(char lines[][REPORT_ADVICE_LINE], size_t *n, size_t max, const char *fmt, ...)
{
    va_list ap;

    if (*n >= max) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(lines[*n], REPORT_ADVICE_LINE, fmt, ap);
    va_end(ap);
    (*n)++;
}

#define PROSE(...) add(a->prose, &a->nprose, REPORT_ADVICE_LINES, __VA_ARGS__)
#define CODE(...) add(a->code, &a->ncode, REPORT_ADVICE_LINES, __VA_ARGS__)
#define AFTER(...) add(a->after, &a->nafter, REPORT_ADVICE_LINES, __VA_ARGS__)

void
report_advice(const struct report_process *p, const struct report_cache *c, struct report_advice *a)
{
    const char *dot = strrchr(c->qualname, '.');
    const char *name = dot != NULL && dot[1] != '\0' ? dot + 1 : c->qualname;
    bool is_method = strcmp(c->kind, "method") == 0;
    char maxsize[32];

    memset(a, 0, sizeof(*a));
    if (c->maxsize < 0) {
        snprintf(maxsize, sizeof(maxsize), "None");
    } else {
        snprintf(maxsize, sizeof(maxsize), "%" PRId64, c->maxsize);
    }
    if (c->verdict == REPORT_VERDICT_BOUNDED) {
        snprintf(a->bounded, sizeof(a->bounded),
                 "bounded: it holds up to %s %s alive until they are evicted", maxsize,
                 is_method ? "instances" : "objects");
    }
    if (is_method && c->self_only) {
        a->kind = "cached_property";
        PROSE("every call keys on self alone: use functools.cached_property,");
        PROSE("which stores the value on the instance and dies with it:");
        CODE("@functools.cached_property");
        CODE("def %s(self): ...", name);
        AFTER("(callers then write obj.%s instead of obj.%s())", name, name);
        return;
    }
    if (is_method && p != NULL && p->cached_method > 0) {
        a->kind = "cached_method";
        PROSE("this interpreter has functools.cached_method, which caches per instance");
        PROSE("and dies with it: use it instead of the lru_cache decorator:");
        CODE("@functools.cached_method");
        CODE("def %s(self, ...): ...", name);
        return;
    }
    if (is_method) {
        /* A leading underscore keeps the implementation private; never
         * produce a double underscore, which Python would name-mangle. */
        const char *prefix = name[0] == '_' ? "" : "_";
        const char *suffix = name[0] == '_' ? "_impl" : "";

        a->kind = "per-instance";
        PROSE("a per-instance cache, created in __init__, %s with the instance:",
              c->verdict == REPORT_VERDICT_BOUNDED ? "releases them" : "dies");
        CODE("self.%s = functools.lru_cache(maxsize=%s)(self.%s%s%s)", name, maxsize, prefix, name,
             suffix);
        AFTER("(rename the decorated method to %s%s%s and drop its decorator)", prefix, name,
              suffix);
        return;
    }
    /* function, classmethod, staticmethod, per-instance: the arguments (or
     * the results) themselves are what the cache holds. */
    a->kind = "plain-keys";
    PROSE("the cache holds objects passed to (or returned by) %s: key it on", name);
    if (c->verdict == REPORT_VERDICT_BOUNDED) {
        PROSE("plain values (ids, fields) instead of the objects themselves");
    } else {
        PROSE("plain values (ids, fields) instead of the objects, or bound it:");
        CODE("@functools.lru_cache(maxsize=N)");
    }
}
