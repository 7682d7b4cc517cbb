/* svg.c — the report's charts as inline SVG, drawn from counts.
 *
 * Every chart has a title, axis labels and ticks; an empty chart draws its
 * axes and a "no data" note. Scales come from a "nice" axis maximum that is
 * never 0, so no chart divides by zero. Labels from the model are escaped
 * like any other text (pa__html_esc_n); colours are our own literals. */
#include "html_int.h"

#include <string.h>

#define W PA_HTML_CHART_W

static const char *const source_colors[] = {"#1565c0", "#2e7d32", "#6a1b9a", "#00838f",
                                            "#ad1457", "#5d4037", "#f9a825", "#455a64"};

const char *pa__html_source_color(size_t index, const char *source)
{
  static const char *const known[] = {"atna", "fhir", "syslog", "dicom"};
  for (size_t i = 0; source && i < sizeof known / sizeof known[0]; i++)
    if (strcmp(source, known[i]) == 0)
      return source_colors[i];
  return source_colors[4 + index % 4];
}

const char *pa__html_severity_color(const char *severity)
{
  static const struct {
    const char *name, *color;
  } t[] = {{"critical", "#6d0000"},
           {"high", "#c62828"},
           {"medium", "#ef6c00"},
           {"low", "#f9a825"},
           {"info", "#607d8b"}};
  for (size_t i = 0; severity && i < sizeof t / sizeof t[0]; i++)
    if (strcmp(severity, t[i].name) == 0)
      return t[i].color;
  return "#78909c";
}

/* The axis maximum (a multiple of *step_out, >= max, >= 1) and its tick step,
 * from the 1-2-5 series, about five ticks. */
static int64_t nice_axis(int64_t max, int64_t *step_out)
{
  int64_t step = 1, m = 1;
  if (max < 1)
    max = 1;
  if (max > INT64_MAX / 4) /* keeps the rounding up below from overflowing */
    max = INT64_MAX / 4;
  while (max / step > 5) { /* 1, 2, 5, 10, 20, 50, ... */
    if (m == 1) {
      step *= 2;
      m = 2;
    } else if (m == 2) {
      step = step / 2 * 5;
      m = 5;
    } else {
      step *= 2;
      m = 1;
    }
  }
  *step_out = step;
  return (max + step - 1) / step * step;
}

/* v's share of the axis, within 0..1. */
static double frac(int64_t v, int64_t axis)
{
  if (v <= 0 || axis <= 0)
    return 0;
  return v >= axis ? 1.0 : (double)v / (double)axis;
}

static void open_svg(struct pa__html_w *w, int height, const char *title, unsigned *id_out)
{
  unsigned id = ++w->next_id;
  *id_out = id;
  pa__html_putf(w,
                "<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"chart%u\">"
                "<title id=\"chart%u\">",
                W, height, W, height, id, id);
  pa__html_esc(w, title);
  pa__html_putf(w, "</title><text class=\"ct\" x=\"%d\" y=\"18\" text-anchor=\"middle\">", W / 2);
  pa__html_esc(w, title);
  pa__html_put(w, "</text>");
}

static void close_svg(struct pa__html_w *w) { pa__html_put(w, "</svg></figure>\n"); }

static void axis_labels(struct pa__html_w *w, const char *xlabel, const char *ylabel, int x_mid,
                        int x_y, int y_mid)
{
  pa__html_putf(w, "<text class=\"al\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", x_mid, x_y);
  pa__html_esc(w, xlabel);
  pa__html_putf(w,
                "</text><text class=\"al\" x=\"12\" y=\"%d\" text-anchor=\"middle\" "
                "transform=\"rotate(-90 12 %d)\">",
                y_mid, y_mid);
  pa__html_esc(w, ylabel);
  pa__html_put(w, "</text>");
}

static void no_data(struct pa__html_w *w, int x, int y)
{
  pa__html_putf(w, "<text class=\"nd\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", x, y);
  pa__html_esc(w, pa__html_L(w, PA_L_NO_DATA));
  pa__html_put(w, "</text>");
}

void pa__svg_hbars(struct pa__html_w *w, const char *title, const char *xlabel, const char *ylabel,
                   const struct pa__svg_bar *bars, size_t n)
{
  const int left = 190, right = 60, top = 30, row = 22, bar_h = 14;
  size_t shown = n > PA_HTML_MAX_BARS ? PA_HTML_MAX_BARS : n;
  int plot_h = (int)(shown ? shown : 3) * row, plot_w = W - left - right;
  int height = top + plot_h + 48;
  int64_t max = 0, step, axis;
  unsigned id;

  for (size_t i = 0; i < shown; i++)
    if (bars[i].value > max)
      max = bars[i].value;
  axis = nice_axis(max, &step);
  open_svg(w, height, title, &id);
  /* grid and ticks */
  for (int64_t t = 0; t <= axis; t += step) {
    double x = left + (double)t / (double)axis * plot_w;
    pa__html_putf(w,
                  "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                  "<text class=\"tk\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%lld</text>",
                  x, top, x, top + plot_h, x, top + plot_h + 14, (long long)t);
  }
  for (size_t i = 0; i < shown; i++) {
    int64_t v = bars[i].value < 0 ? 0 : bars[i].value;
    double bw = frac(v, axis) * plot_w;
    int y = top + (int)i * row + (row - bar_h) / 2;
    pa__html_put(w, "<g class=\"bar\"><title>");
    pa__html_esc(w, bars[i].label);
    pa__html_putf(w, ": %lld</title>", (long long)v);
    pa__html_putf(w, "<text class=\"yl\" x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 6,
                  y + bar_h - 3);
    pa__html_esc_n(w, bars[i].label, 24);
    pa__html_putf(w,
                  "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                  "<text class=\"vl\" x=\"%.1f\" y=\"%d\">%lld</text></g>",
                  left, y, bw, bar_h, bars[i].fill ? bars[i].fill : "#1565c0", left + bw + 4,
                  y + bar_h - 3, (long long)v);
  }
  pa__html_putf(w,
                "<line class=\"ax\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
                "<line class=\"ax\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>",
                left, top, left, top + plot_h, left, top + plot_h, left + plot_w, top + plot_h);
  if (shown == 0)
    no_data(w, left + plot_w / 2, top + plot_h / 2 + 5);
  axis_labels(w, xlabel, ylabel, left + plot_w / 2, top + plot_h + 36, top + plot_h / 2);
  close_svg(w);
}

/* A vertical value axis: grid lines and tick labels left of the plot. */
static void y_axis(struct pa__html_w *w, int left, int top, int plot_w, int plot_h, int64_t axis,
                   int64_t step)
{
  for (int64_t t = 0; t <= axis; t += step) {
    double y = top + plot_h - (double)t / (double)axis * plot_h;
    pa__html_putf(w,
                  "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                  "<text class=\"tk\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%lld</text>",
                  left, y, left + plot_w, y, left - 4, y + 4, (long long)t);
  }
  pa__html_putf(w,
                "<line class=\"ax\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
                "<line class=\"ax\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>",
                left, top, left, top + plot_h, left, top + plot_h, left + plot_w, top + plot_h);
}

void pa__svg_hours(struct pa__html_w *w, const char *title, const char *xlabel, const char *ylabel,
                   const int64_t v[24], const unsigned char work[24])
{
  const int left = 70, right = 20, top = 44, plot_h = 200;
  const int plot_w = W - left - right, height = top + plot_h + 48;
  double cw = plot_w / 24.0;
  int64_t max = 0, step, axis, total = 0;
  int any_work = 0;
  unsigned id;

  for (int h = 0; h < 24; h++) {
    if (v[h] > max)
      max = v[h];
    if (v[h] > 0)
      total += v[h];
    any_work |= work[h];
  }
  axis = nice_axis(max, &step);
  open_svg(w, height, title, &id);
  for (int h = 0; h < 24; h++) /* shade first, so bars and grid are drawn over it */
    if (work[h])
      pa__html_putf(w, "<rect class=\"work\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>",
                    left + h * cw, top, cw, plot_h);
  y_axis(w, left, top, plot_w, plot_h, axis, step);
  for (int h = 0; h < 24; h++) {
    int64_t x = v[h] < 0 ? 0 : v[h];
    double bh = frac(x, axis) * plot_h;
    pa__html_putf(
      w,
      "<g class=\"bar\"><title>%02d:00–%02d:00: %lld</title>"
      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#1565c0\"/></g>"
      "<text class=\"tk\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>",
      h, h + 1, (long long)x, left + h * cw + 2, top + plot_h - bh, cw - 4, bh,
      left + h * cw + cw / 2, top + plot_h + 14, h);
  }
  if (any_work) {
    pa__html_putf(w,
                  "<rect class=\"work\" x=\"%d\" y=\"26\" width=\"12\" height=\"10\"/>"
                  "<text class=\"tk\" x=\"%d\" y=\"35\">",
                  left + plot_w - 180, left + plot_w - 164);
    pa__html_esc(w, pa__html_L(w, PA_L_WORKING_HOURS_MARK));
    pa__html_put(w, "</text>");
  }
  if (total == 0)
    no_data(w, left + plot_w / 2, top + plot_h / 2);
  axis_labels(w, xlabel, ylabel, left + plot_w / 2, top + plot_h + 36, top + plot_h / 2);
  close_svg(w);
}

void pa__svg_stacked(struct pa__html_w *w, const char *title, const char *xlabel,
                     const char *ylabel, const char *const *dates, size_t n_dates,
                     const char *const *series, size_t n_series, const int64_t *v)
{
  const int left = 70, right = 20, top = 44, plot_h = 200;
  const int plot_w = W - left - right, height = top + plot_h + 48;
  size_t nd = n_dates > PA_HTML_MAX_DAYS ? PA_HTML_MAX_DAYS : n_dates;
  size_t ns = n_series > PA_HTML_MAX_SERIES ? PA_HTML_MAX_SERIES : n_series;
  double cw = nd ? (double)plot_w / (double)nd : plot_w;
  size_t label_every = nd > 10 ? (nd + 9) / 10 : 1;
  int64_t max = 0, step, axis;
  unsigned id;

  for (size_t d = 0; d < nd; d++) {
    int64_t sum = 0;
    for (size_t s = 0; s < ns; s++)
      if (v[d * n_series + s] > 0)
        sum += v[d * n_series + s];
    if (sum > max)
      max = sum;
  }
  axis = nice_axis(max, &step);
  open_svg(w, height, title, &id);
  y_axis(w, left, top, plot_w, plot_h, axis, step);
  for (size_t d = 0; d < nd; d++) {
    double base = top + plot_h, x = left + d * cw;
    double gap = cw > 4 ? 1 : 0;
    pa__html_put(w, "<g class=\"bar\"><title>");
    pa__html_esc(w, dates[d]);
    for (size_t s = 0; s < ns; s++) {
      pa__html_put(w, " ");
      pa__html_esc(w, series[s]);
      pa__html_putf(w, ": %lld", (long long)(v[d * n_series + s] > 0 ? v[d * n_series + s] : 0));
    }
    pa__html_put(w, "</title>");
    for (size_t s = 0; s < ns; s++) {
      int64_t x_v = v[d * n_series + s];
      double bh;
      if (x_v <= 0)
        continue;
      bh = frac(x_v, axis) * plot_h;
      base -= bh;
      pa__html_putf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
                    x + gap, base, cw - 2 * gap, bh, pa__html_source_color(s, series[s]));
    }
    pa__html_put(w, "</g>");
    if (d % label_every == 0) {
      const char *dl = dates[d] ? dates[d] : "";
      /* "2026-11-03" is drawn as "11-03" (the year is in the period) */
      pa__html_putf(w, "<text class=\"tk\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", x + cw / 2,
                    top + plot_h + 14);
      pa__html_esc_n(w, strlen(dl) == 10 && dl[4] == '-' ? dl + 5 : dl, 10);
      pa__html_put(w, "</text>");
    }
  }
  /* legend */
  for (size_t s = 0; s < ns; s++) {
    int lx = left + (int)s * 90;
    pa__html_putf(w,
                  "<rect x=\"%d\" y=\"26\" width=\"12\" height=\"10\" fill=\"%s\"/>"
                  "<text class=\"tk\" x=\"%d\" y=\"35\">",
                  lx, pa__html_source_color(s, series[s]), lx + 16);
    pa__html_esc_n(w, series[s], 10);
    pa__html_put(w, "</text>");
  }
  if (nd < n_dates || ns < n_series) {
    pa__html_putf(w, "<text class=\"tk\" x=\"%d\" y=\"35\" text-anchor=\"end\">", left + plot_w);
    pa__html_esc(w, pa__html_L(w, PA_L_CHART_CUT));
    pa__html_put(w, "</text>");
  }
  if (max == 0)
    no_data(w, left + plot_w / 2, top + plot_h / 2);
  axis_labels(w, xlabel, ylabel, left + plot_w / 2, top + plot_h + 36, top + plot_h / 2);
  close_svg(w);
}
