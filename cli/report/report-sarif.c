/* SPDX-License-Identifier: MIT */
/*
 * report-sarif: SARIF 2.1.0 for code review tools (`run`/`report --sarif
 * FILE`): one run of the tool "lruleak" with two rules, lruleak.leak
 * (error: an unbounded cache pins objects) and lruleak.bounded (warning: a
 * bounded one does), and one result per finding (report_findings), located
 * at the decorated function - file and co_firstlineno, the first
 * decorator's line - so review tools annotate the cache itself.
 *
 * Locations inside base_dir are written relative to it with uriBaseId
 * SRCROOT (declared in originalUriBaseIds), others as absolute file: URIs;
 * bytes outside RFC 3986's unreserved and path characters are
 * percent-encoded. partialFingerprints carry module.qualname, which stays
 * stable when lines move. Validated against the published schema by the
 * e2e suite (tests/sarif/). Thread context: none.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "report.h"
#include "util.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

/* path -> URI path characters, percent-encoded where needed, into buf. */
static void
uri_path(const char *path, char *buf, size_t size)
{
    static const char keep[] = "-._~!$&'()*+,;=:@/";
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)path; *p != '\0' && o + 4 < size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            (*p != '\0' && strchr(keep, *p) != NULL)) {
            buf[o++] = (char)*p;
        } else {
            o += (size_t)snprintf(buf + o, size - o, "%%%02X", *p);
        }
    }
    buf[o] = '\0';
}

/* "key": {"member": value} - SARIF's message and configuration objects. */
static void
write_wrapped(struct jsonw *w, const char *key, const char *member, const char *value)
{
    jsonw_key(w, key);
    jsonw_obj_begin(w);
    jsonw_kstr(w, member, value);
    jsonw_obj_end(w);
}

static void
write_rule(struct jsonw *w, const char *id, const char *name, const char *level,
           const char *summary, const char *help)
{
    jsonw_obj_begin(w);
    jsonw_kstr(w, "id", id);
    jsonw_kstr(w, "name", name);
    write_wrapped(w, "shortDescription", "text", summary);
    write_wrapped(w, "fullDescription", "text", help);
    write_wrapped(w, "help", "text", help);
    write_wrapped(w, "defaultConfiguration", "level", level);
    jsonw_obj_end(w);
}

static void
write_location(struct jsonw *w, const struct report_finding *x, const char *base_dir)
{
    size_t blen = base_dir != NULL ? strlen(base_dir) : 0;
    char uri[4096], full[1024];
    bool inside = blen > 0 && strncmp(x->file, base_dir, blen) == 0 && x->file[blen] == '/';

    jsonw_key(w, "locations");
    jsonw_arr_begin(w);
    jsonw_obj_begin(w);
    if (x->file[0] == '/') {
        jsonw_key(w, "physicalLocation");
        jsonw_obj_begin(w);
        jsonw_key(w, "artifactLocation");
        jsonw_obj_begin(w);
        if (inside) {
            uri_path(x->file + blen + 1, uri, sizeof(uri));
            jsonw_kstr(w, "uri", uri);
            jsonw_kstr(w, "uriBaseId", "SRCROOT");
        } else {
            char abs[4200];

            uri_path(x->file, uri, sizeof(uri));
            snprintf(abs, sizeof(abs), "file://%s", uri);
            jsonw_kstr(w, "uri", abs);
        }
        jsonw_obj_end(w);
        if (x->line > 0) {
            jsonw_key(w, "region");
            jsonw_obj_begin(w);
            jsonw_kint(w, "startLine", x->line);
            jsonw_obj_end(w);
        }
        jsonw_obj_end(w);
    }
    snprintf(full, sizeof(full), "%s%s%s", x->module, x->module[0] != '\0' ? "." : "", x->qualname);
    jsonw_key(w, "logicalLocations");
    jsonw_arr_begin(w);
    jsonw_obj_begin(w);
    jsonw_kstr(w, "fullyQualifiedName", full);
    jsonw_kstr(w, "kind", "function");
    jsonw_obj_end(w);
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    jsonw_arr_end(w);
}

static void
write_result(struct jsonw *w, const struct report_finding *x, const char *base_dir)
{
    bool leak = x->verdict == REPORT_VERDICT_LEAK;
    char msg[2048], bytes[32], fp[1024];
    int n;

    n = snprintf(msg, sizeof(msg), "%s (%s, %s) pins %" PRId64 " %s", x->qualname, x->kind,
                 leak ? "unbounded" : "bounded", x->pinned, x->pinned == 1 ? "object" : "objects");
    if (x->ntests > 0 && n > 0 && (size_t)n < sizeof(msg)) {
        n += snprintf(msg + n, sizeof(msg) - (size_t)n,
                      "; %zu %s left them behind, the most %s (+%" PRId64 ")", x->ntests,
                      x->ntests == 1 ? "test" : "tests", x->worst->nodeid, x->worst_new);
    }
    if (x->nprocs > 0 && n > 0 && (size_t)n < sizeof(msg)) {
        util_format_bytes(x->retained_bytes, bytes, sizeof(bytes));
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, "; %s retained in %zu %s", bytes, x->nprocs,
                      x->nprocs == 1 ? "process" : "processes");
    }
    if (n > 0 && (size_t)n < sizeof(msg)) {
        snprintf(msg + n, sizeof(msg) - (size_t)n, "%s",
                 leak ? ". Every object it is called with stays alive until the cache is "
                        "cleared."
                      : ". It keeps up to maxsize objects alive until they are evicted.");
    }
    jsonw_obj_begin(w);
    jsonw_kstr(w, "ruleId", leak ? "lruleak.leak" : "lruleak.bounded");
    jsonw_kint(w, "ruleIndex", leak ? 0 : 1);
    jsonw_kstr(w, "level", leak ? "error" : "warning");
    write_wrapped(w, "message", "text", msg);
    write_location(w, x, base_dir);
    snprintf(fp, sizeof(fp), "%s.%s:%s", x->module, x->qualname, x->kind);
    write_wrapped(w, "partialFingerprints", "lruleakCache/v1", fp);
    jsonw_key(w, "properties");
    jsonw_obj_begin(w);
    jsonw_kint(w, "pinned", x->pinned);
    jsonw_kint(w, "tests", (int64_t)x->ntests);
    jsonw_kint(w, "processes", (int64_t)x->nprocs);
    jsonw_kint(w, "retained_bytes", x->retained_bytes);
    if (x->maxsize >= 0) {
        jsonw_kint(w, "maxsize", x->maxsize);
    } else {
        jsonw_knull(w, "maxsize");
    }
    jsonw_obj_end(w);
    jsonw_obj_end(w);
}

int
report_write_sarif(const struct report *r, const struct report_rules *rules, const char *base_dir,
                   FILE *f)
{
    struct report_finding *fs = NULL;
    struct jsonw w;
    char uri[4096];
    int nf, ret = 0;

    nf = report_findings(r, rules, &fs);
    if (nf < 0) {
        return nf;
    }
    jsonw_init(&w);
    jsonw_obj_begin(&w);
    jsonw_kstr(&w, "$schema", SARIF_SCHEMA);
    jsonw_kstr(&w, "version", "2.1.0");
    jsonw_key(&w, "runs");
    jsonw_arr_begin(&w);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "tool");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "driver");
    jsonw_obj_begin(&w);
    jsonw_kstr(&w, "name", "lruleak");
    jsonw_kstr(&w, "version", LRULEAK_VERSION);
    jsonw_key(&w, "rules");
    jsonw_arr_begin(&w);
    write_rule(&w, "lruleak.leak", "UnboundedLruCachePinsObjects", "error",
               "An unbounded functools.lru_cache/cache pins the objects it is called with.",
               "The cache keeps every first argument (self, for a method) alive for the life "
               "of the process. Use a per-instance cache created in __init__, "
               "functools.cached_property, or key the cache on plain values.");
    write_rule(&w, "lruleak.bounded", "BoundedLruCachePinsObjects", "warning",
               "A bounded functools.lru_cache pins up to maxsize objects.",
               "The cache keeps up to maxsize of the objects it is called with alive until "
               "they are evicted. Use a per-instance cache or key it on plain values.");
    jsonw_arr_end(&w);
    jsonw_obj_end(&w);
    jsonw_obj_end(&w);
    if (base_dir != NULL && base_dir[0] == '/') {
        uri_path(base_dir, uri, sizeof(uri));
        jsonw_key(&w, "originalUriBaseIds");
        jsonw_obj_begin(&w);
        jsonw_key(&w, "SRCROOT");
        jsonw_obj_begin(&w);
        {
            char abs[4200];

            /* A base URI ends with a slash (SARIF 3.14.14). */
            snprintf(abs, sizeof(abs), "file://%s%s", uri,
                     uri[0] != '\0' && uri[strlen(uri) - 1] == '/' ? "" : "/");
            jsonw_kstr(&w, "uri", abs);
        }
        jsonw_obj_end(&w);
        jsonw_obj_end(&w);
    }
    jsonw_key(&w, "results");
    jsonw_arr_begin(&w);
    for (int i = 0; i < nf; i++) {
        write_result(&w, &fs[i], base_dir);
    }
    jsonw_arr_end(&w);
    jsonw_obj_end(&w);
    jsonw_arr_end(&w);
    jsonw_obj_end(&w);
    jsonw_bytes(&w, "\n", 1);
    errno = 0;
    if (w.err < 0) {
        ret = w.err;
    } else if (fwrite(w.buf, 1, w.len, f) != w.len || fflush(f) != 0) {
        ret = -(errno != 0 ? errno : EIO);
    }
    jsonw_done(&w);
    free(fs);
    return ret;
}
