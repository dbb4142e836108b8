/* SPDX-License-Identifier: MIT */
/*
 * scan: reads the heap's Python objects for a sample (the other code that
 * touches Python objects checks, starts, stops and hooks the agent:
 * pycompat.c, gil.c, hooks.c, pymodule.c, sampler.c). One call of
 * scan_run() takes one sample: it finds every lru_cache wrapper, reads its
 * cache, counts the distinct first arguments (selves), works out which of them
 * nothing but lru caches keeps alive (pinned) and how much memory that
 * holds, and fills a snapshot.
 *
 * GIL contract: the caller holds the GIL (through its own thread state) when
 * it calls scan_run, and scan_run never gives it up: every strong reference
 * it takes is dropped before it returns, so no object the program lets go
 * of ever outlives its last reference because of the agent (a reference
 * held across a GIL release could become the last one: the object would
 * live on, weak references would still resolve and its finaliser would run
 * later, on our thread). No reference it drops can be the last one either:
 * the program ran no code meanwhile. It never runs user Python code (no
 * __eq__, __hash__, __repr__, __sizeof__, __getattr__ of user classes) and
 * leaves no exception set.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "pyapi.h"
#include "snapshot.h"

struct scan;

struct scan_options {
    bool full;        /* also walk every GC object (gc.get_objects / GC visit) */
    bool main_thread; /* running on the interpreter's main thread (atexit, _lruleak) */
    size_t max_nodes; /* budget for the retained-graph walk */
    atomic_int *stop; /* when non-NULL and set, abandon at the next check */
    /* When non-NULL, a Python list: scan_run appends one dict per row with
     * pinned selves, {"qualname", "module", "file", "line", "kind",
     * "maxsize", "objects": [the pinned selves]} (the _lruleak.pinned()
     * API; the periodic sampler never asks for it). */
    PyObject *pinned_out;
    /* With pinned_out, when non-NULL (_lruleak.pinned_new()): unless
     * *pinned_all is true on entry, append only the pinned selves that no
     * earlier such call handed over, when the agent can tell (a steady or
     * growth sample since the last complete one that handed them all);
     * on return *pinned_all says whether every pinned self was appended.
     * One caller per process: the marks are the agent's. */
    bool *pinned_all;
    /* Look up where the pinned objects were created (tracemalloc must
     * trace: scan_alloc_start). */
    bool trace_alloc;
    /* scan_precheck's slices ran up to this sample and said 0; their GIL
     * holds, for the snapshot's figures. */
    bool prechecked;
    int pre_holds;
    double pre_max_hold_ms, pre_cpu_ms, pre_wall_ms;
};

/* Returns a scanner (buffers are reused between samples) or NULL (ENOMEM).
 * No Python needed. */
struct scan *scan_new(void);
/* Needs the GIL when the scanner still holds deferred references. NULL ok. */
struct scan *scan_free(struct scan *s);
/* Drop what the scanner keeps between samples in Python (the weak
 * references to wrappers found by full walks): a detached agent holds no
 * Python object. GIL held; no sample running. */
void scan_forget(struct scan *s);

/*
 * Take one sample into out (cleared first; pid/seq/t are the caller's).
 * Returns 0, -ECANCELED when *opt->stop was set, or -ENOMEM.
 * The GIL must be held on entry; it is held on return.
 */
int scan_run(struct scan *s, const struct scan_options *opt, struct snapshot *out);

/*
 * One slice of the next sample's reference checks, ahead of it (see
 * scan-precheck.c), for about budget_ms. The GIL must be held, as for
 * scan_run; between slices it is released. Returns 1 when more slices are
 * needed, 0 when every kept object was checked (then scan_run with
 * opt->prechecked skips those checks), -EAGAIN when slices cannot help
 * (no steady state, or the caches changed beyond growth: the sample is
 * taken as before). No reference is taken; no Python code runs.
 */
int scan_precheck(struct scan *s, double budget_ms);

/*
 * Start tracemalloc with this many frames, unless it traces already (then
 * the program's session is kept as it is). *ret_frames: the traceback
 * limit in force. Returns 0, -ENOENT (no _tracemalloc) or -EIO (start
 * failed). GIL held; call on the agent's own thread. (scan-alloc.c)
 */
int scan_alloc_start(int frames, int *ret_frames);

/* Clear the pending Python exception, if any; true if there was one. GIL held. */
bool scan_clear_error(void);
