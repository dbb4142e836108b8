/* SPDX-License-Identifier: MIT */
/*
 * debugalloc: see debugalloc.h. The command line is read the way CPython's
 * own option parser reads it (short options only until the
 * program): a cluster such as -EsX takes its argument from the rest of the
 * word or from the next word, and -c, -m, -, -- or the first word that is
 * no option end the interpreter's options.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debugalloc.h"
#include "pyapi.h"

/* Short options of the python command that take an argument. */
static bool
takes_argument(char c)
{
    return c == 'X' || c == 'W' || c == 'c' || c == 'm' || c == 'Q';
}

static bool
starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* -X dev, -X dev=1: development mode. */
static bool
is_dev_option(const char *x)
{
    return strcmp(x, "dev") == 0 || starts_with(x, "dev=");
}

bool
debugalloc_possible(const char *const *argv, size_t argc, debugalloc_getenv_fn get_env,
                    bool debug_build)
{
    bool ignore_env = false, dev = false;
    const char *base;

    if (argc == 0 || argv[0] == NULL) {
        return true;
    }
    base = strrchr(argv[0], '/');
    base = base != NULL ? base + 1 : argv[0];
    if (!starts_with(base, "python")) {
        return true; /* an embedder: its own PyPreConfig may ask for them */
    }
    if (debug_build) {
        return true;
    }
    for (size_t i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0' || strcmp(a, "--") == 0) {
            break; /* the program, stdin or the end of the options */
        }
        if (a[1] == '-') {
            continue; /* --help, --version, --check-hash-based-pycs X */
        }
        bool end = false;
        for (const char *c = a + 1; *c != '\0'; c++) {
            if (*c == 'E' || *c == 'I') {
                ignore_env = true;
            }
            if (!takes_argument(*c)) {
                continue;
            }
            const char *arg = c[1] != '\0' ? c + 1 : (i + 1 < argc ? argv[++i] : "");
            if (*c == 'X' && is_dev_option(arg)) {
                dev = true;
            }
            end = *c == 'c' || *c == 'm';
            break;
        }
        if (end) {
            break;
        }
    }
    if (dev) {
        return true;
    }
    if (!ignore_env) {
        const char *m = get_env("PYTHONMALLOC");
        const char *d = get_env("PYTHONDEVMODE");
        if ((m != NULL && strstr(m, "debug") != NULL) || (d != NULL && d[0] != '\0')) {
            return true;
        }
    }
    return false;
}

static const char *
env_lookup(const char *name)
{
    return secure_getenv(name);
}

bool
debugalloc_possible_here(void)
{
    static char buf[8192];
    const char *argv[64];
    size_t argc = 0;
    ssize_t n = -1;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
    }
    if (n <= 0) {
        return true;
    }
    buf[n] = '\0';
    for (ssize_t i = 0; i < n && argc < sizeof(argv) / sizeof(argv[0]);) {
        argv[argc++] = buf + i;
        i += (ssize_t)strlen(buf + i) + 1;
    }
    /* Every Py_DEBUG build defines it (Py_REF_DEBUG), no release build does. */
    bool debug_build = pyapi_symbol("_Py_NegativeRefcount") != NULL;
    return debugalloc_possible(argv, argc, env_lookup, debug_build);
}
