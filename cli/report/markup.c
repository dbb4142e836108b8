/* SPDX-License-Identifier: MIT */
/* markup: see markup.h. */
#include "config.h"

#include "markup.h"

void
markup_put(FILE *f, const char *s)
{
    if (s == NULL) {
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                fprintf(f, "\\x%02x", *p);
            } else {
                fputc(*p, f);
            }
        }
    }
}
