/* SPDX-License-Identifier: MIT */
/*
 * hooks: the agent's callbacks that the interpreter calls on the host's own
 * threads, with the GIL held - never on the agent's thread:
 *
 *   - the atexit hook: stops the sampler, takes the final sample;
 *   - an audit hook that installs the atexit hook when the program imports
 *     functools or starts running with functools imported (for programs
 *     that end before the sampler got going);
 *   - os.register_at_fork hooks that step the agent's threads out of the
 *     way of os.fork() (3.12+ warns about threads; and a child must not
 *     inherit a half-taken sample) and re-arm the agent in the child
 *     (lifecycle.c);
 *   - the work of the _exit() interposer (exports.c): os._exit() skips
 *     atexit, so the final sample is taken there.
 *
 * Each returns None and leaves no exception of its own behind.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "lifecycle.h"
#include "hooks.h"
#include "log.h"
#include "pycompat.h"
#include "sampler.h"
#include "scan.h"

static PyObject *
none(void)
{
    py.Py_IncRef(py._Py_NoneStruct);
    return py._Py_NoneStruct;
}

/* ---- exit --------------------------------------------------------------------------- */

static PyObject *
exit_hook(PyObject *self, PyObject *unused)
{
    lifecycle_exit();
    return none();
}

static struct pyapi_method_def exit_def = {"lruleak_exit", exit_hook, PYAPI_METH_NOARGS, NULL};

static int
install_atexit(void)
{
    PyObject *mod = pycompat_import("atexit"); /* owned; builtin module */
    PyObject *reg = mod != NULL ? py.PyObject_GetAttrString(mod, "register") : NULL;
    PyObject *fn = py.PyCFunction_NewEx(&exit_def, NULL, NULL);
    PyObject *res =
        reg != NULL && fn != NULL ? py.PyObject_CallFunctionObjArgs(reg, fn, NULL) : NULL;
    int r = res != NULL ? 0 : -EIO;

    py.Py_DecRef(res);
    py.Py_DecRef(fn);
    py.Py_DecRef(reg);
    py.Py_DecRef(mod);
    scan_clear_error();
    return r;
}

/* The exit hook must be in place before a short program ends, and the
 * sampler thread may get the GIL only when the program is over (a 20 ms
 * script never waits on anything). So an audit hook - the one callback
 * CPython offers at import time without importing anything ourselves -
 * installs it on the program's own thread: when the program imports
 * functools, or, if start-up imported functools already, when the
 * interpreter is about to run the program (the cpython.run_file/_module/
 * _command/_stdin/_startup/_interactivehook events CPython's main emits,
 * 3.8+). A preloaded agent adds the hook from its constructor, before
 * Py_Initialize, which PySys_AddAuditHook allows (PEP 578: runtime
 * initialisation keeps hooks added earlier); otherwise the sampler adds it
 * at its first look. Afterwards the hook returns at once. */
static struct {
    atomic_int exit_hook_installed;
    atomic_int audit_hook_added;
    int audit_hook_early; /* added before Py_Initialize: it starts the agent */
    int started_here;     /* it did (GIL held: no race) */
    int in_hook;
    bool fork_hooks_installed; /* once per process tree (see install_fork) */
} hk;
static int (*is_initialized)(void);

int
hooks_install_exit(void)
{
    if (atomic_compare_exchange_strong(&hk.exit_hook_installed, &(int){0}, 1) &&
        install_atexit() < 0) {
        hk.exit_hook_installed = 0;
        return -EIO;
    }
    return 0;
}

bool
hooks_exit_installed(void)
{
    return atomic_load(&hk.exit_hook_installed) != 0;
}

static bool
is_functools(PyObject *name)
{
    Py_ssize_t n = 0;
    const char *s = name != NULL && pycompat_type(name) == py.PyUnicode_Type
                        ? py.PyUnicode_AsUTF8AndSize(name, &n)
                        : NULL;

    return s != NULL && n == 9 && memcmp(s, "functools", 9) == 0;
}

static bool
functools_imported(void)
{
    PyObject *name = py.PyUnicode_FromString("functools"); /* owned */
    PyObject *mod = name != NULL ? py.PyImport_GetModule(name) : NULL;
    bool found = mod != NULL;

    py.Py_DecRef(mod);
    py.Py_DecRef(name);
    return found;
}

static int
audit_hook(const char *event, PyObject *args, void *data)
{
    const char *missing;
    bool import;

    (void)data;
    if (hk.exit_hook_installed && (!hk.audit_hook_early || hk.started_here)) {
        return 0;
    }
    import = event[0] == 'i' && strcmp(event, "import") == 0;
    if (!import && strncmp(event, "cpython.run_", 12) != 0) {
        return 0;
    }
    /* Nothing before Py_Initialize has finished or once finalisation has
     * begun (both: Py_IsInitialized() is 0), nothing for subinterpreters,
     * and nothing with an exception pending: clearing our own errors
     * would clear the program's too. */
    if (!is_initialized() || !agent_is_home() || pyapi_resolve(&missing) < 0 ||
        py.PyErr_Occurred() != NULL || !pycompat_in_main_interpreter()) {
        return 0;
    }
    /* The calls below raise no audit event of their own in any version
     * we know of; the guard keeps it that way. */
    if (hk.in_hook) {
        return 0;
    }
    hk.in_hook = 1;
    /* Before any code of the program's runs: from here on every os.fork()
     * steps our threads out of the way and re-arms the agent in the child. */
    hooks_install_fork();
    if (import ? is_functools(py.PyTuple_GetItem(args, 0)) : functools_imported()) {
        hooks_install_exit();
        /* A preloaded agent's thread starts only now: until the program
         * has lru caches there is nothing to sample, and until the fork
         * hooks are in place an extra thread would make os.fork() warn
         * (3.12+). */
        if (hk.audit_hook_early && !hk.started_here) {
            hk.started_here = 1;
            (void)agent_start();
        }
    }
    scan_clear_error();
    hk.in_hook = 0;
    return 0;
}

bool
hooks_watch_early(void)
{
    int (*add)(int (*)(const char *, PyObject *, void *), void *);
    void *p = pyapi_symbol("PySys_AddAuditHook");

    is_initialized = pyapi_probe();
    memcpy(&add, &p, sizeof(add));
    if (add == NULL || is_initialized == NULL) {
        return false;
    }
    /* Before Py_Initialize no other hook can refuse ours. */
    if (add(audit_hook, NULL) == 0) {
        hk.audit_hook_added = 1;
        hk.audit_hook_early = 1;
    }
    return hk.audit_hook_added;
}

bool
hooks_watch_imports(void)
{
    if (hk.audit_hook_added) {
        return true;
    }
    is_initialized = py.Py_IsInitialized;
    if (py.PySys_AddAuditHook(audit_hook, NULL) < 0) {
        scan_clear_error(); /* refused by the program's own hooks: poll only */
        return false;
    }
    hk.audit_hook_added = 1;
    return true;
}

/* ---- os.fork() ------------------------------------------------------------------ */

/* CPython 3.12+ warns on os.fork() in a process with more than one thread
 * (gh-100228), which would put a DeprecationWarning on the host's stderr
 * only because we are there; and a child that follows the parent must not
 * inherit a sample half-way. So around os.fork() our two threads leave:
 * `before` (the forking thread, GIL held) asks them to, gives the GIL up
 * while it joins them, and `after_in_parent` starts them again.
 * `after_in_child` re-arms the agent in the child (lifecycle.c). */
static PyObject *
fork_before(PyObject *self, PyObject *unused)
{
    lifecycle_fork_before();
    return none();
}

/* Main thread, GIL held, after os.fork() returned (3.13+). */
static int
resume_pending(void *arg)
{
    (void)arg;
    lifecycle_fork_parent();
    return 0;
}

static PyObject *
fork_after_parent(PyObject *self, PyObject *unused)
{
    /* We hold the GIL with a valid thread state here, the one safe way to
     * call Py_AddPendingCall (gil.h: before 3.9 it is not safe from a
     * thread without one, nor once finalisation drained the queue). */
    if (!pyc.fork_warns_late || py.Py_AddPendingCall(resume_pending, NULL) != 0) {
        scan_clear_error();
        lifecycle_fork_parent();
    }
    return none();
}

/* The child's only thread, GIL held, after PyOS_AfterFork_Child. */
static PyObject *
fork_after_child(PyObject *self, PyObject *unused)
{
    lifecycle_fork_child();
    return none();
}

static struct pyapi_method_def fork_defs[3] = {
    {"lruleak_before_fork", fork_before, PYAPI_METH_NOARGS, NULL},
    {"lruleak_after_fork", fork_after_parent, PYAPI_METH_NOARGS, NULL},
    {"lruleak_after_fork_child", fork_after_child, PYAPI_METH_NOARGS, NULL},
};

/* The fork hooks are registered once per process tree (hk.fork_hooks_installed):
 * a forked child inherits them, and a re-attach after a detach must not
 * register a second set. */

/* os.register_at_fork(before=..., after_in_parent=..., after_in_child=...);
 * GIL held. */
void
hooks_install_fork(void)
{
    static const char *const keys[3] = {"before", "after_in_parent", "after_in_child"};
    PyObject *name = NULL, *posix = NULL, *reg = NULL, *kw = NULL, *args = NULL; /* owned */
    PyObject *res = NULL;                                                        /* owned */
    int ok = 0;

    if (hk.fork_hooks_installed) {
        return;
    }
    name = py.PyUnicode_FromString("posix");
    posix = name != NULL ? py.PyImport_GetModule(name) : NULL;
    reg = posix != NULL ? py.PyObject_GetAttrString(posix, "register_at_fork") : NULL;
    kw = py.PyDict_New();
    args = py.PyTuple_New(0);
    /* Without following forks only the 3.12+ thread warning needs hooks. */
    size_t n = agent.follow_forks ? 3 : 2;
    for (size_t i = 0; kw != NULL && i < n; i++) {
        PyObject *fn = py.PyCFunction_NewEx(&fork_defs[i], NULL, NULL); /* owned */
        ok += fn != NULL && py.PyDict_SetItemString(kw, keys[i], fn) == 0;
        py.Py_DecRef(fn);
    }
    if (reg != NULL && args != NULL && ok == (int)n) {
        res = py.PyObject_Call(reg, args, kw);
    }
    hk.fork_hooks_installed = res != NULL;
    if (res == NULL) {
        log_msg("cannot register os.fork() hooks: forks may warn about threads, children "
                "stay dormant");
    }
    py.Py_DecRef(res);
    py.Py_DecRef(args);
    py.Py_DecRef(kw);
    py.Py_DecRef(reg);
    py.Py_DecRef(posix);
    py.Py_DecRef(name);
    scan_clear_error();
}

/* ---- os._exit() ---------------------------------------------------------------- */

void
hooks_before_exit(void)
{
    /* Any thread of any process the agent is preloaded into, a vfork()ed
     * child sharing our memory included: read only, until it is plainly
     * our own Python process, sampling or about to (like the exit hook:
     * a pool worker forked while its forkserver was still getting ready
     * does its tasks and calls os._exit() before its own sampler is; the
     * final sample is then prepared here), and this thread holds the
     * GIL. */
    enum agent_state state = atomic_load(&agent.state);
    if (!agent.python_process || agent.pid != getpid() || !hk.exit_hook_installed ||
        (state != AGENT_SAMPLING && state != AGENT_WAITING) || agent.stopping) {
        return;
    }
    if (!py.Py_IsInitialized() || pycompat_finalizing() || !pycompat_thread_holds_gil()) {
        return;
    }
    lifecycle_exit();
}
