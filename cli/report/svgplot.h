/* SPDX-License-Identifier: MIT */
/*
 * svgplot: line plots as inline SVG for the HTML report (report-html.c),
 * and the small pieces they are made of: min/max downsampling and tick
 * steps.
 *
 * A plot has one or more series of (t, value) points on one time axis and
 * one value axis (a count or bytes), with tick labels, axis titles with
 * units, a marker per sample point when there are few, and a legend when
 * there is more than one series. Long series are downsampled to at most
 * SVGPLOT_BUCKETS buckets over time, each keeping its minimum and its
 * maximum point (in time order), so a spike survives; the first and last
 * points always stay. Every plotted polyline carries the plotted values
 * (data-t, data-v) so a reader, or a test, can check them against the
 * recording. Every string is escaped (markup.h). No JavaScript.
 * Thread context: none.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Most buckets a series is downsampled to (two points each at most). */
#define SVGPLOT_BUCKETS 300
/* Series with at most this many plotted points get a marker per point. */
#define SVGPLOT_MARKERS_MAX 120

/*
 * Choose the points of (t[i], v[i]), i < n (t non-decreasing) to plot:
 * all of them when n <= 2 * buckets, else the first and the last, and per
 * bucket (equal time spans from t[0] to t[n-1]) the index of its minimum
 * and of its maximum value, in index order. Writes the indexes to
 * ret_idx, which must hold 2 * buckets + 2 entries, and returns how many.
 * buckets 0 counts as 1.
 */
size_t svgplot_downsample(const double *t, const double *v, size_t n, size_t buckets,
                          size_t *ret_idx);

/*
 * A "nice" tick step (1, 2 or 5 times a power of ten, or for bytes a power
 * of 1024 times 1, 2, 4, 8, 16...) that cuts [lo, hi] into at most
 * max_ticks intervals. Returns the step (> 0); hi <= lo is treated as a
 * span of 1.
 */
double svgplot_tick_step(double lo, double hi, int max_ticks, bool bytes);

/* A tick label: a count ("1.5k", "20", "0.25"), bytes ("512 KiB") or
 * seconds ("90 s", "2 min", "1.5 h"). */
enum svgplot_unit {
    SVGPLOT_COUNT,
    SVGPLOT_BYTES,
    SVGPLOT_SECONDS,
};
void svgplot_format(double v, enum svgplot_unit unit, char *buf, size_t size);

struct svgplot_series {
    const char *label; /* legend text (escaped on output); NULL: none */
    const double *t;   /* seconds, non-decreasing */
    const double *v;
    size_t n;
    const char *name; /* a class name for the polyline (plain ASCII, ours) */
};

struct svgplot {
    const char *title;        /* escaped on output */
    const char *y_title;      /* e.g. "pinned objects" */
    enum svgplot_unit y_unit; /* SVGPLOT_COUNT or SVGPLOT_BYTES */
    int width, height;        /* pixels (0: 640 x 240) */
    size_t buckets;           /* 0: SVGPLOT_BUCKETS */
};

/*
 * Write one <svg> element plotting the series. Returns 0, -ENOMEM, or
 * -EIO when the stream is in error.
 */
int svgplot_write(FILE *f, const struct svgplot *plot, const struct svgplot_series *series,
                  size_t nseries);
