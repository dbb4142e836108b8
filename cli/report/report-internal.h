/* SPDX-License-Identifier: MIT */
/*
 * report-internal: what the model (report.c) offers the code that decodes
 * records into it (report-read.c). Not for renderers: they read report.h.
 */
#pragma once

#include <stdint.h>

#include "report.h"

/* A cache row's identity, hashed once. */
struct report_row_key {
    const char *module;
    const char *qualname;
    const char *file;
    const char *kind;
    int64_t line;
    uint64_t hash;
};

uint64_t report_row_hash(const char *module, const char *qualname, const char *file, int64_t line,
                         const char *kind);
/* The model's copy of s (NULL on OOM). Equal strings share one copy. */
const char *report_intern(struct report *rep, const char *s);
/* A new process pid in the model. Returns 0 or -ENOMEM. */
int report_new_process(struct report *rep, int64_t pid, struct report_process **ret);
/* The row of p with identity k, or NULL. */
struct report_cache *report_row_find(const struct report_process *p,
                                     const struct report_row_key *k);
/* Add a row with identity k to p. Returns 0 or -ENOMEM. */
int report_row_add(struct report *rep, struct report_process *p, const struct report_row_key *k,
                   struct report_cache **ret);
