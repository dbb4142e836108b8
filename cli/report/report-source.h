/* SPDX-License-Identifier: MIT */
/*
 * report-source: the name of the function around a line of a Python source
 * file, for allocation sites (tracemalloc's frames carry a file and a line,
 * not a function). Read from the file at report time: a file that has
 * changed since the run can name the wrong function, one that cannot be
 * read names none.
 */
#pragma once

#include <stddef.h>

/*
 * The innermost `def`, `async def` or `class` whose body holds line `line`
 * (1-based) of the file at path, by indentation, or "<module>" at the top
 * level. Returns 0 with the name in buf, or -errno (-ENOENT: no such line).
 */
int report_source_function(const char *path, long line, char *buf, size_t len);
