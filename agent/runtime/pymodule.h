/* SPDX-License-Identifier: MIT */
/*
 * pymodule: the same .so imported by Python as the extension module
 * _lruleak (file name _lruleak.abi3.so, a link to liblruleak.so):
 *
 *   import _lruleak
 *   _lruleak.start()           start sampling (no LD_PRELOAD needed)
 *   _lruleak.snapshot(full=False) -> dict, the "sample" object of agent/README.md
 *   _lruleak.__version__
 *
 * Called by Python with the GIL held.
 */
#pragma once

#include "pyapi.h"

/* Body of PyInit__lruleak. Returns a new module or NULL with an exception. */
PyObject *pymodule_init(void);
