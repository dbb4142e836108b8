/* SPDX-License-Identifier: MIT */
/*
 * markup: text of the examined program (qualnames, file names, test ids)
 * written safely into HTML and XML, for the HTML report (report-html.c,
 * svgplot.c) and JUnit XML (report-junit.c). Thread context: none.
 */
#pragma once

#include <stdio.h>

/*
 * Write s as HTML or XML 1.0 text, also valid in a quoted attribute value:
 * & < > " ' become entities, C0 controls and DEL become "\xNN" text (XML
 * 1.0 cannot carry most of them at all). NULL writes nothing.
 */
void markup_put(FILE *f, const char *s);
