/* SPDX-License-Identifier: MIT */
/*
 * exports: the agent's entire public interface (also listed in agent.sym;
 * scripts/check-exports.sh fails the build's tests if they differ). Each
 * export is a forwarder; the constructor and destructor need no export.
 */
#include "config.h"

#include "agent.h"
#include "export.h"
#include "hooks.h"
#include "pymodule.h"

/* ABI probe: which agent is loaded (dlsym from the CLI and tests). */
LRULEAK_EXPORT const char *lruleak_agent_version(void);
/* Start sampling in a process that loaded the agent late (`lruleak attach`
 * dlopens the agent, then calls this). options: NULL or the text of
 * attachopt.h. Returns 0 or -errno; safe on any thread, GIL or not. */
LRULEAK_EXPORT int lruleak_agent_attach(const char *options);
/* Python extension module entry: import _lruleak. */
LRULEAK_EXPORT PyObject *PyInit__lruleak(void);
/* libc's _exit, interposed when preloaded: os._exit() skips atexit (the
 * fork()-then-_exit idiom, multiprocessing's forked workers), so the final
 * sample is taken here first. */
LRULEAK_EXPORT __attribute__((noreturn)) void _exit(int status);

const char *
lruleak_agent_version(void)
{
    return LRULEAK_VERSION;
}

int
lruleak_agent_attach(const char *options)
{
    return agent_attach(options);
}

PyObject *
PyInit__lruleak(void)
{
    return pymodule_init();
}

void
_exit(int status)
{
    hooks_before_exit();
    agent_real_exit(status);
}
