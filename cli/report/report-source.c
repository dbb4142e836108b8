/* SPDX-License-Identifier: MIT */
/*
 * report-source: see report-source.h. Reads at most REPORT_SOURCE_MAX bytes
 * of the file. Lines are judged by their indentation alone (tabs count as
 * up to the next multiple of 8, as Python's tokenizer does); blank lines,
 * comments and lines inside an open bracket are no statement.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report-source.h"

#define REPORT_SOURCE_MAX (8 << 20)

struct src_line {
    const char *p;
    size_t n;
    int indent; /* -1: no statement starts here */
};

static int
indent_of(const char *p, size_t n, size_t *ret_off)
{
    int col = 0;
    size_t i = 0;

    for (; i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\f'); i++) {
        col = p[i] == '\t' ? (col / 8 + 1) * 8 : p[i] == ' ' ? col + 1 : 0;
    }
    *ret_off = i;
    return col;
}

/* "def NAME", "async def NAME" or "class NAME" at p: copy NAME. */
static int
definition(const char *p, size_t n, char *buf, size_t len)
{
    static const char *const kw[] = {"async def ", "def ", "class "};

    for (size_t k = 0; k < 3; k++) {
        size_t kl = strlen(kw[k]);
        if (n > kl && memcmp(p, kw[k], kl) == 0) {
            size_t i = kl, j = 0;
            while (i < n && p[i] == ' ') {
                i++;
            }
            while (i < n && j + 1 < len &&
                   (isalnum((unsigned char)p[i]) || p[i] == '_' || (unsigned char)p[i] >= 0x80)) {
                buf[j++] = p[i++];
            }
            buf[j] = '\0';
            return j > 0 ? 0 : -EINVAL;
        }
    }
    return -EINVAL;
}

int
report_source_function(const char *path, long line, char *buf, size_t len)
{
    FILE *f;
    char *text = NULL;
    struct src_line *lines = NULL;
    size_t n = 0, cap = 0, size;
    int depth = 0, r = -ENOENT;

    if (line <= 0 || len < 9) {
        return -EINVAL;
    }
    f = fopen(path, "re");
    if (f == NULL) {
        return -errno;
    }
    text = malloc(REPORT_SOURCE_MAX);
    if (text == NULL) {
        fclose(f);
        return -ENOMEM;
    }
    size = fread(text, 1, REPORT_SOURCE_MAX, f);
    fclose(f);
    /* Split into lines up to `line`, noting where statements start. */
    for (size_t i = 0; i < size && n < (size_t)line;) {
        const char *e = memchr(text + i, '\n', size - i);
        size_t ln = e != NULL ? (size_t)(e - (text + i)) : size - i;
        if (n == cap) {
            cap = cap != 0 ? cap * 2 : 1024;
            struct src_line *p = realloc(lines, cap * sizeof(*p));
            if (p == NULL) {
                r = -ENOMEM;
                goto out;
            }
            lines = p;
        }
        size_t off;
        int ind = indent_of(text + i, ln, &off);
        bool blank = off == ln || text[i + off] == '#' || text[i + off] == '\r';
        lines[n] = (struct src_line){text + i + off, ln - off, depth == 0 && !blank ? ind : -1};
        for (size_t k = off; k < ln && text[i + k] != '#'; k++) {
            char c = text[i + k];
            depth += c == '(' || c == '[' || c == '{';
            depth -= (c == ')' || c == ']' || c == '}') && depth > 0;
        }
        n++;
        i += ln + 1;
    }
    if (n < (size_t)line) {
        goto out; /* the file is shorter now */
    }
    int want = lines[n - 1].indent >= 0 ? lines[n - 1].indent : 1 << 30;
    snprintf(buf, len, "<module>");
    r = 0;
    for (size_t i = n - 1; i-- > 0;) {
        if (lines[i].indent < 0 || lines[i].indent >= want) {
            continue;
        }
        if (definition(lines[i].p, lines[i].n, buf, len) == 0) {
            break;
        }
        want = lines[i].indent; /* if, for, with, try: look further out */
        if (want == 0) {
            snprintf(buf, len, "<module>");
            break;
        }
    }
out:
    free(lines);
    free(text);
    return r;
}
