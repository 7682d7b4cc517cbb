/* html_int.h — what html.c and svg.c share: the output writer, the escaper
 * and the chart drawers. Private to reports/. */
#ifndef PA_HTML_INT_H
#define PA_HTML_INT_H

#include "i18n.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Caps on what one chart draws (the rest is said in a note). */
#define PA_HTML_MAX_BARS 40  /* bars of a horizontal bar chart */
#define PA_HTML_MAX_DAYS 400 /* days of the events-per-day chart */
#define PA_HTML_MAX_SERIES 8 /* sources of the events-per-day chart */
#define PA_HTML_CHART_W 680  /* px: fits A4 portrait between 15 mm margins */

struct pa__html_w {
  FILE *f; /* borrowed */
  enum pa_lang lang;
  unsigned next_id; /* for unique element ids inside the SVGs */
};

/* Trusted text (our own markup and numbers) goes out as it is. */
void pa__html_put(struct pa__html_w *w, const char *s);
void pa__html_putf(struct pa__html_w *w, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
static inline const char *pa__html_L(const struct pa__html_w *w, enum pa_label id)
{
  return pa_i18n(w->lang, id);
}

/* Writes s escaped for HTML text and for a quoted attribute value alike:
 * & < > " ' become entities; C0 and C1 control characters and the
 * bidirectional overrides are dropped (tab and newline become a space);
 * a byte that is not valid UTF-8 becomes U+FFFD. max_cp > 0 cuts the text
 * after that many characters and adds "…"; 0 writes it whole. NULL writes
 * nothing. */
void pa__html_esc_n(struct pa__html_w *w, const char *s, size_t max_cp);
static inline void pa__html_esc(struct pa__html_w *w, const char *s) { pa__html_esc_n(w, s, 0); }

/* One bar of a horizontal bar chart. label borrowed; css_fill NULL or one
 * of our own colour literals (never model text). */
struct pa__svg_bar {
  const char *label;
  int64_t value;
  const char *fill;
};

/* A horizontal bar chart: one row per bar (at most PA_HTML_MAX_BARS drawn),
 * the value at the bar's end, an x axis with ticks. n == 0 draws the empty
 * axes and a "no data" note. */
void pa__svg_hbars(struct pa__html_w *w, const char *title, const char *xlabel, const char *ylabel,
                   const struct pa__svg_bar *bars, size_t n);

/* The 24 hours of the day as columns, working hours shaded (work[h] != 0). */
void pa__svg_hours(struct pa__html_w *w, const char *title, const char *xlabel, const char *ylabel,
                   const int64_t v[24], const unsigned char work[24]);

/* Stacked columns, one per date (n_dates <= PA_HTML_MAX_DAYS), one colour per
 * series (n_series <= PA_HTML_MAX_SERIES); v[d * n_series + s]. Labels
 * borrowed. */
void pa__svg_stacked(struct pa__html_w *w, const char *title, const char *xlabel,
                     const char *ylabel, const char *const *dates, size_t n_dates,
                     const char *const *series, size_t n_series, const int64_t *v);

/* The fill colour of a known source or severity; a grey for others. */
const char *pa__html_source_color(size_t index, const char *source);
const char *pa__html_severity_color(const char *severity);

#endif
