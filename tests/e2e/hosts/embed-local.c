/* SPDX-License-Identifier: MIT */
/*
 * embed-local: an embedding host that loads libpython with RTLD_LOCAL, so
 * dlsym(RTLD_DEFAULT) cannot see any Python symbol. Imported as _lruleak,
 * the agent must still find the runtime (dl_iterate_phdr + RTLD_NOLOAD) and
 * report counts that match the embedded program's own truth.
 *
 * Usage: embed-local LIBPYTHON.so AGENT_DIR SCRIPT.py
 * Exits with the script's status (0: the agent agreed with the truth).
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: embed-local LIBPYTHON.so AGENT_DIR SCRIPT.py\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "embed-local: %s\n", dlerror());
        return 1;
    }
    void (*init)(void) = (void (*)(void))dlsym(h, "Py_Initialize");
    int (*run)(const char *) = (int (*)(const char *))dlsym(h, "PyRun_SimpleString");
    int (*finalize)(void) = (int (*)(void))dlsym(h, "Py_FinalizeEx");
    if (init == NULL || run == NULL || finalize == NULL) {
        fprintf(stderr, "embed-local: not a libpython: %s\n", argv[1]);
        return 1;
    }
    char code[4096];
    snprintf(code, sizeof(code),
             "import sys\n"
             "sys.path.insert(0, %s%s%s)\n"
             "sys.argv = [%s%s%s]\n"
             "exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'))\n",
             "'", argv[2], "'", "'", argv[3], "'");
    init();
    int r = run(code);
    if (finalize() < 0) {
        r = -1;
    }
    return r == 0 ? 0 : 1;
}
