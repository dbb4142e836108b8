/* SPDX-License-Identifier: MIT */
/*
 * svgplot: inline SVG line plots (see svgplot.h). Geometry: a plot area
 * inside fixed margins (room for the tick labels on the left, the axis
 * title below), the time axis from the earliest to the latest point of any
 * series, the value axis from 0 to a nice step above the largest value.
 * Output is written straight to the stream; the only allocation is the
 * index buffer of the downsampling.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "markup.h"
#include "svgplot.h"

#define MARGIN_LEFT 72
#define MARGIN_RIGHT 24
#define MARGIN_TOP 30
#define MARGIN_BOTTOM 44
#define LEGEND_ROW 18

/* Colour-blind-safe (Okabe-Ito), readable on white. */
static const char *const palette[] = {
    "#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#999999",
};

size_t
svgplot_downsample(const double *t, const double *v, size_t n, size_t buckets, size_t *ret_idx)
{
    size_t out = 0, i = 0;
    double t0, span;

    if (buckets == 0) {
        buckets = 1;
    }
    if (n <= 2 * buckets) {
        for (i = 0; i < n; i++) {
            ret_idx[i] = i;
        }
        return n;
    }
    t0 = t[0];
    span = t[n - 1] - t0;
    ret_idx[out++] = 0;
    i = 1;
    for (size_t b = 0; b < buckets && i < n - 1; b++) {
        /* Bucket b covers [t0 + b*span/buckets, t0 + (b+1)*span/buckets);
         * the last bucket takes everything left but the last point. */
        double end = t0 + span * (double)(b + 1) / (double)buckets;
        size_t lo = i, hi = i, k = i;

        if (span <= 0) {
            /* Every point at one time: buckets by index instead. */
            size_t per = (n - 2 + buckets - 1) / buckets;
            size_t stop = i + per < n - 1 ? i + per : n - 1;

            for (; k < stop; k++) {
                lo = v[k] < v[lo] ? k : lo;
                hi = v[k] > v[hi] ? k : hi;
            }
        } else {
            for (; k < n - 1 && (t[k] < end || b + 1 == buckets); k++) {
                lo = v[k] < v[lo] ? k : lo;
                hi = v[k] > v[hi] ? k : hi;
            }
        }
        if (k == i) {
            continue; /* an empty bucket */
        }
        i = k;
        if (lo == hi) {
            ret_idx[out++] = lo;
        } else {
            ret_idx[out++] = lo < hi ? lo : hi;
            ret_idx[out++] = lo < hi ? hi : lo;
        }
    }
    ret_idx[out++] = n - 1;
    return out;
}

double
svgplot_tick_step(double lo, double hi, int max_ticks, bool bytes)
{
    double span = hi > lo ? hi - lo : 1.0;
    double raw, mag, step;

    if (max_ticks < 1) {
        max_ticks = 1;
    }
    raw = span / max_ticks;
    if (bytes && raw >= 1024) {
        /* Powers of two, so labels read 256 KiB, 512 KiB, 1 MiB. */
        step = 1024;
        while (step < raw) {
            step *= 2;
        }
        return step;
    }
    mag = pow(10, floor(log10(raw)));
    if (raw <= mag) {
        step = mag;
    } else if (raw <= 2 * mag) {
        step = 2 * mag;
    } else if (raw <= 5 * mag) {
        step = 5 * mag;
    } else {
        step = 10 * mag;
    }
    return step;
}

/* A time step that reads well: 1-2-5 seconds, then minutes, then hours. */
static double
time_step(double span, int max_ticks)
{
    static const double steps[] = {60,    120,   300,   600,   900,    1800,   3600,  7200,
                                   10800, 21600, 43200, 86400, 172800, 432000, 864000};
    double raw = (span > 0 ? span : 1.0) / max_ticks;

    if (raw <= 30) {
        return svgplot_tick_step(0, span, max_ticks, false);
    }
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (steps[i] >= raw) {
            return steps[i];
        }
    }
    return svgplot_tick_step(0, span / 86400, max_ticks, false) * 86400;
}

/* %g without an exponent for the magnitudes we plot, and no "-0". */
static void
format_plain(double v, char *buf, size_t size)
{
    if (fabs(v) < 1e-9) {
        v = 0;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, size, "%.0f", v);
    } else {
        snprintf(buf, size, "%.3g", v);
    }
}

void
svgplot_format(double v, enum svgplot_unit unit, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    char num[32];

    switch (unit) {
    case SVGPLOT_BYTES:
        if (fabs(v) < 1024) {
            format_plain(v, num, sizeof(num));
            snprintf(buf, size, "%s B", num);
            return;
        }
        {
            size_t u = 0;

            v /= 1024;
            while (fabs(v) >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
                v /= 1024;
                u++;
            }
            format_plain(v, num, sizeof(num));
            snprintf(buf, size, "%s %s", num, units[u]);
        }
        return;
    case SVGPLOT_SECONDS:
        if (fabs(v) < 120) {
            format_plain(v, num, sizeof(num));
            snprintf(buf, size, "%s s", num);
        } else if (fabs(v) < 7200) {
            format_plain(v / 60, num, sizeof(num));
            snprintf(buf, size, "%s min", num);
        } else {
            format_plain(v / 3600, num, sizeof(num));
            snprintf(buf, size, "%s h", num);
        }
        return;
    case SVGPLOT_COUNT:
        break;
    }
    if (fabs(v) >= 1e6) {
        format_plain(v / 1e6, num, sizeof(num));
        snprintf(buf, size, "%sM", num);
    } else if (fabs(v) >= 1e4) {
        format_plain(v / 1e3, num, sizeof(num));
        snprintf(buf, size, "%sk", num);
    } else {
        format_plain(v, buf, size);
    }
}

struct frame {
    double x0, y0, w, h; /* plot area, pixels */
    double t0, t1, vmax;
};

static double
px(const struct frame *fr, double t)
{
    return fr->x0 + (t - fr->t0) / (fr->t1 - fr->t0) * fr->w;
}

static double
py_(const struct frame *fr, double v)
{
    return fr->y0 + fr->h - v / fr->vmax * fr->h;
}

static void
write_axes(FILE *f, const struct svgplot *plot, const struct frame *fr)
{
    char label[48];
    double step;

    /* Value axis: gridlines and labels from 0 to vmax. */
    step = svgplot_tick_step(0, fr->vmax, 5, plot->y_unit == SVGPLOT_BYTES);
    for (double v = 0; v <= fr->vmax * (1 + 1e-9); v += step) {
        double y = py_(fr, v);

        svgplot_format(v, plot->y_unit, label, sizeof(label));
        fprintf(f,
                "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#e4e4e4\"/>"
                "<text class=\"ytick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                "font-size=\"11\">%s</text>\n",
                fr->x0, y, fr->x0 + fr->w, y, fr->x0 - 6, y + 4, label);
    }
    /* Time axis. */
    step = time_step(fr->t1 - fr->t0, 6);
    for (double t = ceil(fr->t0 / step - 1e-9) * step; t <= fr->t1 * (1 + 1e-9) + 1e-9; t += step) {
        double x = px(fr, t);

        svgplot_format(t, SVGPLOT_SECONDS, label, sizeof(label));
        fprintf(f,
                "<line class=\"xtick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#555\"/>"
                "<text class=\"xtick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                "font-size=\"11\">%s</text>\n",
                x, fr->y0 + fr->h, x, fr->y0 + fr->h + 5, x, fr->y0 + fr->h + 18, label);
    }
    fprintf(f,
            "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>"
            "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#555\"/>\n",
            fr->x0, fr->y0, fr->x0, fr->y0 + fr->h, fr->x0, fr->y0 + fr->h, fr->x0 + fr->w,
            fr->y0 + fr->h);
    fprintf(f,
            "<text class=\"xtitle\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
            "font-size=\"12\">time since the process started (s)</text>\n",
            fr->x0 + fr->w / 2, fr->y0 + fr->h + 36);
    fprintf(f,
            "<text class=\"ytitle\" x=\"12\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
            "transform=\"rotate(-90 12 %.1f)\">",
            fr->y0 + fr->h / 2, fr->y0 + fr->h / 2);
    markup_put(f, plot->y_title);
    fprintf(f, " (%s)</text>\n", plot->y_unit == SVGPLOT_BYTES ? "bytes" : "count");
}

static void
write_series(FILE *f, const struct svgplot *plot, const struct frame *fr,
             const struct svgplot_series *s, const char *colour, const size_t *idx, size_t m)
{
    fprintf(f, "<polyline class=\"series %s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" ",
            s->name != NULL ? s->name : "", colour);
    fprintf(f, "data-n=\"%zu\" data-plotted=\"%zu\" data-t=\"", s->n, m);
    for (size_t k = 0; k < m; k++) {
        fprintf(f, "%s%.3f", k > 0 ? " " : "", s->t[idx[k]]);
    }
    fputs("\" data-v=\"", f);
    for (size_t k = 0; k < m; k++) {
        fprintf(f, "%s%.0f", k > 0 ? " " : "", s->v[idx[k]]);
    }
    fputs("\" points=\"", f);
    for (size_t k = 0; k < m; k++) {
        fprintf(f, "%s%.1f,%.1f", k > 0 ? " " : "", px(fr, s->t[idx[k]]), py_(fr, s->v[idx[k]]));
    }
    fputs("\"/>\n", f);
    if (m > SVGPLOT_MARKERS_MAX) {
        return;
    }
    /* The sample points themselves, each with its values as a tooltip. */
    for (size_t k = 0; k < m; k++) {
        char vv[48];

        if (plot->y_unit == SVGPLOT_BYTES) {
            svgplot_format(s->v[idx[k]], SVGPLOT_BYTES, vv, sizeof(vv));
        } else {
            snprintf(vv, sizeof(vv), "%.0f", s->v[idx[k]]);
        }
        fprintf(f,
                "<circle class=\"point %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\">"
                "<title>t=%.3f s: %s</title></circle>",
                s->name != NULL ? s->name : "", px(fr, s->t[idx[k]]), py_(fr, s->v[idx[k]]), colour,
                s->t[idx[k]], vv);
    }
    fputc('\n', f);
}

int
svgplot_write(FILE *f, const struct svgplot *plot, const struct svgplot_series *series,
              size_t nseries)
{
    size_t buckets = plot->buckets != 0 ? plot->buckets : SVGPLOT_BUCKETS;
    int width = plot->width > 0 ? plot->width : 640;
    int height = plot->height > 0 ? plot->height : 240;
    bool legend = nseries > 1;
    int total_h = height + (legend ? (int)nseries * LEGEND_ROW + 6 : 0);
    struct frame fr = {
        .x0 = MARGIN_LEFT,
        .y0 = MARGIN_TOP,
        .w = width - MARGIN_LEFT - MARGIN_RIGHT,
        .h = height - MARGIN_TOP - MARGIN_BOTTOM,
        .t0 = INFINITY,
        .t1 = -INFINITY,
        .vmax = 0,
    };
    size_t *idx = malloc((2 * buckets + 2) * sizeof(*idx));
    size_t downsampled = 0;

    if (idx == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < nseries; i++) {
        const struct svgplot_series *s = &series[i];

        if (s->n == 0) {
            continue;
        }
        fr.t0 = s->t[0] < fr.t0 ? s->t[0] : fr.t0;
        fr.t1 = s->t[s->n - 1] > fr.t1 ? s->t[s->n - 1] : fr.t1;
        for (size_t k = 0; k < s->n; k++) {
            fr.vmax = s->v[k] > fr.vmax ? s->v[k] : fr.vmax;
        }
    }
    if (!(fr.t0 <= fr.t1)) {
        fr.t0 = 0;
        fr.t1 = 1;
    }
    if (fr.t1 - fr.t0 < 1e-9) {
        /* One instant: centre it in a one-second window. */
        fr.t0 -= 0.5;
        fr.t1 += 0.5;
    }
    if (fr.vmax <= 0) {
        fr.vmax = 1;
    } else {
        double step = svgplot_tick_step(0, fr.vmax, 5, plot->y_unit == SVGPLOT_BYTES);

        fr.vmax = ceil(fr.vmax / step - 1e-9) * step;
    }

    fprintf(f,
            "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\" data-t0=\"%.3f\" data-t1=\"%.3f\" "
            "data-vmax=\"%.0f\" data-x0=\"%.1f\" data-y0=\"%.1f\" data-w=\"%.1f\" "
            "data-h=\"%.1f\" font-family=\"sans-serif\">\n",
            width, total_h, width, total_h, fr.t0, fr.t1, fr.vmax, fr.x0, fr.y0, fr.w, fr.h);
    fputs("<title>", f);
    markup_put(f, plot->title);
    fputs("</title>\n", f);
    fprintf(f, "<text class=\"ptitle\" x=\"%.1f\" y=\"18\" font-size=\"13\" font-weight=\"bold\">",
            fr.x0);
    markup_put(f, plot->title);
    fputs("</text>\n", f);
    write_axes(f, plot, &fr);
    for (size_t i = 0; i < nseries; i++) {
        const struct svgplot_series *s = &series[i];
        size_t m;

        if (s->n == 0) {
            continue;
        }
        m = svgplot_downsample(s->t, s->v, s->n, buckets, idx);
        downsampled += m < s->n;
        write_series(f, plot, &fr, s, palette[i % (sizeof(palette) / sizeof(palette[0]))], idx, m);
    }
    if (downsampled > 0) {
        fprintf(f,
                "<text class=\"note\" x=\"%.1f\" y=\"18\" text-anchor=\"end\" font-size=\"11\" "
                "fill=\"#555\">downsampled: min and max of each of %zu time buckets</text>\n",
                fr.x0 + fr.w, buckets);
    }
    for (size_t i = 0; legend && i < nseries; i++) {
        double y = height + i * LEGEND_ROW + 8;
        const char *colour = palette[i % (sizeof(palette) / sizeof(palette[0]))];

        fprintf(f,
                "<g class=\"legend\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"%s\" stroke-width=\"3\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">",
                fr.x0, y, fr.x0 + 24, y, colour, fr.x0 + 30, y + 4);
        markup_put(f, series[i].label);
        fputs("</text></g>\n", f);
    }
    fputs("</svg>\n", f);
    free(idx);
    return ferror(f) ? -EIO : 0;
}
