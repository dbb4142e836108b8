/* SPDX-License-Identifier: MIT */
/*
 * fake-version: a preloaded library that makes the interpreter announce a
 * CPython the agent does not know. It defines Py_GetVersion, returning
 * $FAKE_PY_VERSION, so that dlsym(RTLD_DEFAULT) - and with it the agent -
 * finds this one before libpython's. That works for --enable-shared
 * interpreters (the executable does not define the symbol) and not for
 * those with libpython linked into the executable, which comes first in
 * the lookup order: test-e2e-inert checks which case it is in.
 */
#include "config.h"

#include <stdlib.h>

__attribute__((visibility("default"))) const char *Py_GetVersion(void);

const char *
Py_GetVersion(void)
{
    const char *v = getenv("FAKE_PY_VERSION");

    return v != NULL ? v : "3.99.0 (fake-version, unset FAKE_PY_VERSION) [GCC]";
}
