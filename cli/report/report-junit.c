/* SPDX-License-Identifier: MIT */
/*
 * report-junit: JUnit XML for CI systems (`run`/`report --junit FILE`), in
 * the shape pytest's junitxml writes, so the same parsers read it:
 *
 *   <testsuites name="lruleak" tests= failures= errors="0" skipped="0" time=>
 *     <testsuite name="lruleak.tests" ...>      one testcase per recorded test
 *       <testcase classname="tests.test_x.TestY" name="test_z[1]" time=>
 *         <failure type="lruleak.leak" message="...">details</failure>
 *         <system-out>warm-up and allow-listed caches</system-out>
 *       </testcase>
 *     <testsuite name="lruleak.caches" ...>     one testcase per cache that
 *       <testcase classname="lruleak.caches.MODULE" name="QUALNAME">  pins
 *                                                objects outside test sessions
 *
 * classname/name follow pytest's mangling of a node id (path with "/" as
 * ".", without ".py", "::" parts joined by "."; the last part is the name).
 * A test fails when its blamed objects reach the gate's verdict (--fail-on,
 * else leak); so does a cache row. Text is XML-escaped (markup.h): control
 * characters become "\xNN" text. Thread context: none.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "markup.h"
#include "report.h"
#include "util.h"

/* classname and name of a pytest node id, as pytest's junitxml. */
static void
mangle(const char *nodeid, char *classname, size_t csize, char *name, size_t nsize)
{
    const char *bracket = strchr(nodeid, '[');
    size_t plain = bracket != NULL ? (size_t)(bracket - nodeid) : strlen(nodeid);
    const char *last = NULL;
    size_t o = 0;

    /* The last "::" outside the parameters separates the name. */
    for (const char *p = nodeid; p + 1 < nodeid + plain; p++) {
        if (p[0] == ':' && p[1] == ':') {
            last = p;
        }
    }
    if (last == NULL) {
        snprintf(classname, csize, "%s", "");
        snprintf(name, nsize, "%s", nodeid);
        return;
    }
    snprintf(name, nsize, "%s", last + 2);
    for (const char *p = nodeid; p < last && o + 1 < csize;) {
        if (p[0] == ':' && p[1] == ':') {
            classname[o++] = '.';
            p += 2;
        } else if (strncmp(p, ".py::", 5) == 0 || (strncmp(p, ".py", 3) == 0 && p + 3 == last)) {
            p += 3; /* the module's file name loses its extension */
        } else {
            classname[o++] = *p == '/' ? '.' : *p;
            p++;
        }
    }
    classname[o] = '\0';
}

static bool
test_failed(const struct report_test *t, enum report_verdict min)
{
    return min == REPORT_VERDICT_LEAK ? t->blamed_unbounded > 0 : t->blamed > 0;
}

static void
write_test(FILE *f, const struct report_test *t, enum report_verdict min)
{
    char classname[1024], name[1024];
    bool notes = false;

    mangle(t->nodeid, classname, sizeof(classname), name, sizeof(name));
    fputs("    <testcase classname=\"", f);
    markup_put(f, classname);
    fputs("\" name=\"", f);
    markup_put(f, name);
    fprintf(f, "\" time=\"%.3f\">\n", t->duration);
    if (test_failed(t, min)) {
        fprintf(f,
                "      <failure type=\"lruleak.%s\" message=\"left %" PRId64
                " new objects pinned by lru caches\">",
                t->blamed_unbounded > 0 ? "leak" : "bounded", t->blamed);
        for (size_t k = 0; k < t->ncaches; k++) {
            const struct report_test_cache *c = &t->caches[k];

            if (c->blame != REPORT_BLAMED) {
                continue;
            }
            markup_put(f, c->qualname);
            fprintf(f, " (%s) at ", c->maxsize < 0 ? "unbounded" : "bounded");
            markup_put(f, c->file[0] != '\0' ? c->file : "(unknown file)");
            fprintf(f, ":%" PRId64 ": +%" PRId64 " pinned (pid %" PRId64 ")\n", c->line,
                    c->new_pinned, t->proc->pid);
        }
        fputs("</failure>\n", f);
    }
    for (size_t k = 0; k < t->ncaches; k++) {
        const struct report_test_cache *c = &t->caches[k];

        if (c->blame == REPORT_BLAMED || c->new_pinned == 0) {
            continue;
        }
        if (!notes) {
            fputs("      <system-out>", f);
            notes = true;
        }
        markup_put(f, c->qualname);
        fprintf(f, ": +%" PRId64 " pinned, not blamed (", c->new_pinned);
        markup_put(f, c->blame == REPORT_WARMUP ? "warm-up" : c->ignored);
        fputs(")\n", f);
    }
    if (notes) {
        fputs("</system-out>\n", f);
    }
    fputs("    </testcase>\n", f);
}

static void
write_cache(FILE *f, const struct report_finding *x, enum report_verdict min)
{
    char bytes[32];

    fputs("    <testcase classname=\"lruleak.caches.", f);
    markup_put(f, x->module[0] != '\0' ? x->module : "unknown");
    fputs("\" name=\"", f);
    markup_put(f, x->qualname);
    fputs("\" time=\"0.000\">\n", f);
    if (x->verdict >= min) {
        util_format_bytes(x->retained_bytes, bytes, sizeof(bytes));
        fprintf(f, "      <failure type=\"lruleak.%s\" message=\"pins %" PRId64 " objects\">",
                report_verdict_name(x->verdict), x->pinned);
        markup_put(f, x->qualname);
        fputs(" at ", f);
        markup_put(f, x->file[0] != '\0' ? x->file : "(unknown file)");
        fprintf(f, ":%" PRId64 ": pins %" PRId64 " objects (%s) in %zu %s (pid %" PRId64 ")\n",
                x->line, x->pinned, bytes, x->nprocs, x->nprocs == 1 ? "process" : "processes",
                x->pid);
        fputs("</failure>\n", f);
    }
    fputs("    </testcase>\n", f);
}

int
report_write_junit(const struct report *r, const struct report_rules *rules,
                   enum report_verdict min, FILE *f)
{
    struct report_finding *fs = NULL;
    size_t tfail = 0, cases = 0, cfail = 0;
    double time = 0;
    int nf;

    nf = report_findings(r, rules, &fs);
    if (nf < 0) {
        return nf;
    }
    for (size_t i = 0; i < r->ntests; i++) {
        tfail += test_failed(r->tests[i], min);
        time += r->tests[i]->duration;
    }
    for (int i = 0; i < nf; i++) {
        if (fs[i].nprocs > 0) {
            cases++;
            cfail += fs[i].verdict >= min;
        }
    }
    errno = 0;
    fputs("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n", f);
    fprintf(f,
            "<testsuites name=\"lruleak\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
            "skipped=\"0\" time=\"%.3f\">\n",
            r->ntests + cases, tfail + cfail, time);
    fprintf(f,
            "  <testsuite name=\"lruleak.tests\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
            "skipped=\"0\" time=\"%.3f\">\n",
            r->ntests, tfail, time);
    for (size_t i = 0; i < r->ntests; i++) {
        write_test(f, r->tests[i], min);
    }
    fputs("  </testsuite>\n", f);
    if (cases > 0) {
        fprintf(f,
                "  <testsuite name=\"lruleak.caches\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
                "skipped=\"0\" time=\"0.000\">\n",
                cases, cfail);
        for (int i = 0; i < nf; i++) {
            if (fs[i].nprocs > 0) {
                write_cache(f, &fs[i], min);
            }
        }
        fputs("  </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
    free(fs);
    if (fflush(f) != 0 || ferror(f)) {
        return -(errno != 0 ? errno : EIO);
    }
    return 0;
}
