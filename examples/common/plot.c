/* PNG line plot shared by the examples: linear or log-scaled y axis (log:
 * decade and minor grid lines), linear x axis, a title, axis labels (the y
 * label drawn vertically) and a legend beside the plot. Text uses a
 * built-in 5x7 bitmap font drawn at twice its size, so the program needs
 * nothing but libpng. */
#include "plot.h"

#include "png_io.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  WIDTH = 1280, HEIGHT = 720,
  LEFT = 110, RIGHT = 870, TOP = 60, BOTTOM = 640, /* plot area (LEFT grows
                                                      for wide tick labels) */
  YLABEL_X = 16,             /* left edge of the vertical y label */
  SCALE = 2,                 /* font pixels per glyph pixel */
  ADVANCE = 6 * SCALE,       /* 5 columns + 1 gap */
  LINE_H = 9 * SCALE,
  MAX_TICKS = 256
};

/* ASCII 32..126; row r of a glyph is one byte, bit 4 = leftmost column. */
static const uint8_t font5x7[95][7] = {
  {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /*   */
  {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04}, /* ! */
  {0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00}, /* " */
  {0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a}, /* # */
  {0x04, 0x0f, 0x14, 0x0e, 0x05, 0x1e, 0x04}, /* $ */
  {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}, /* % */
  {0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d}, /* & */
  {0x04, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00}, /* quote */
  {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}, /* ( */
  {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}, /* ) */
  {0x00, 0x04, 0x15, 0x0e, 0x15, 0x04, 0x00}, /* star */
  {0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00}, /* + */
  {0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08}, /* , */
  {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00}, /* - */
  {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c}, /* . */
  {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}, /* slash */
  {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, /* 0 */
  {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* 1 */
  {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, /* 2 */
  {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}, /* 3 */
  {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, /* 4 */
  {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}, /* 5 */
  {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, /* 6 */
  {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, /* 7 */
  {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, /* 8 */
  {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}, /* 9 */
  {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00}, /* : */
  {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x04, 0x08}, /* ; */
  {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}, /* < */
  {0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00}, /* = */
  {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}, /* > */
  {0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04}, /* ? */
  {0x0e, 0x11, 0x01, 0x0d, 0x15, 0x15, 0x0e}, /* @ */
  {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}, /* A */
  {0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e}, /* B */
  {0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e}, /* C */
  {0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c}, /* D */
  {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f}, /* E */
  {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10}, /* F */
  {0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f}, /* G */
  {0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}, /* H */
  {0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* I */
  {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c}, /* J */
  {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, /* K */
  {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f}, /* L */
  {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11}, /* M */
  {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}, /* N */
  {0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}, /* O */
  {0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10}, /* P */
  {0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d}, /* Q */
  {0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11}, /* R */
  {0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e}, /* S */
  {0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, /* T */
  {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}, /* U */
  {0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04}, /* V */
  {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a}, /* W */
  {0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11}, /* X */
  {0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04}, /* Y */
  {0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f}, /* Z */
  {0x0e, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0e}, /* [ */
  {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00}, /* backslash */
  {0x0e, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0e}, /* ] */
  {0x04, 0x0a, 0x11, 0x00, 0x00, 0x00, 0x00}, /* ^ */
  {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f}, /* _ */
  {0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00}, /* ` */
  {0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f}, /* a */
  {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1e}, /* b */
  {0x00, 0x00, 0x0e, 0x10, 0x10, 0x11, 0x0e}, /* c */
  {0x01, 0x01, 0x0d, 0x13, 0x11, 0x11, 0x0f}, /* d */
  {0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e}, /* e */
  {0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08}, /* f */
  {0x00, 0x00, 0x0f, 0x11, 0x0f, 0x01, 0x0e}, /* g */
  {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11}, /* h */
  {0x04, 0x00, 0x0c, 0x04, 0x04, 0x04, 0x0e}, /* i */
  {0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0c}, /* j */
  {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12}, /* k */
  {0x0c, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* l */
  {0x00, 0x00, 0x1a, 0x15, 0x15, 0x11, 0x11}, /* m */
  {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}, /* n */
  {0x00, 0x00, 0x0e, 0x11, 0x11, 0x11, 0x0e}, /* o */
  {0x00, 0x00, 0x1e, 0x11, 0x1e, 0x10, 0x10}, /* p */
  {0x00, 0x00, 0x0d, 0x13, 0x0f, 0x01, 0x01}, /* q */
  {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10}, /* r */
  {0x00, 0x00, 0x0e, 0x10, 0x0e, 0x01, 0x1e}, /* s */
  {0x08, 0x08, 0x1c, 0x08, 0x08, 0x09, 0x06}, /* t */
  {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0d}, /* u */
  {0x00, 0x00, 0x11, 0x11, 0x11, 0x0a, 0x04}, /* v */
  {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0a}, /* w */
  {0x00, 0x00, 0x11, 0x0a, 0x04, 0x0a, 0x11}, /* x */
  {0x00, 0x00, 0x11, 0x11, 0x0f, 0x01, 0x0e}, /* y */
  {0x00, 0x00, 0x1f, 0x02, 0x04, 0x08, 0x1f}, /* z */
  {0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02}, /* { */
  {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, /* | */
  {0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08}, /* } */
  {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00}, /* ~ */
};

typedef struct {
  uint8_t *px; /* WIDTH x HEIGHT x RGB */
} canvas;

typedef struct {
  uint8_t r, g, b;
} rgb;

/* Colour-blind-friendly palette (Okabe-Ito), then two greys. */
static const rgb palette[] = {
  {0, 114, 178},  {213, 94, 0},   {0, 158, 115},  {204, 121, 167},
  {230, 159, 0},  {86, 180, 233}, {0, 0, 0},      {120, 120, 120},
  {200, 60, 60},  {90, 60, 160},
};

static void put(canvas *c, int x, int y, rgb col)
{
  if (x < 0 || y < 0 || x >= WIDTH || y >= HEIGHT)
    return;
  uint8_t *p = c->px + ((size_t)y * WIDTH + (size_t)x) * 3;
  p[0] = col.r;
  p[1] = col.g;
  p[2] = col.b;
}

static void fill(canvas *c, int x0, int y0, int x1, int y1, rgb col)
{
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++)
      put(c, x, y, col);
}

/* Text with its top-left corner at (x, y); vertical text runs bottom to
 * top, its glyphs rotated 90 degrees counter-clockwise, starting at (x, y)
 * as its bottom-left corner. */
static void text(canvas *c, int x, int y, const char *s, rgb col, int vertical)
{
  for (int i = 0; s[i]; i++) {
    unsigned ch = (unsigned char)s[i];
    if (ch < 32 || ch > 126)
      ch = '?';
    const uint8_t *g = font5x7[ch - 32];
    for (int r = 0; r < 7; r++)
      for (int k = 0; k < 5; k++) {
        if (!(g[r] >> (4 - k) & 1))
          continue;
        int gx = vertical ? x + r * SCALE : x + (i * 6 + k) * SCALE;
        int gy = vertical ? y - (i * 6 + k + 1) * SCALE + 1 : y + r * SCALE;
        fill(c, gx, gy, gx + SCALE - 1, gy + SCALE - 1, col);
      }
  }
}

static int text_width(const char *s)
{
  return (int)strlen(s) * ADVANCE - SCALE;
}

/* A line of width 2 from (x0, y0) to (x1, y1); with dashed, a 12-on/8-off
 * pattern continued across segments through *phase. */
static void line(canvas *c, double x0, double y0, double x1, double y1,
                 rgb col, int dashed, double *phase)
{
  double dx = x1 - x0, dy = y1 - y0;
  double len = sqrt(dx * dx + dy * dy);
  int steps = (int)ceil(len * 2.0);
  if (steps < 1)
    steps = 1;
  for (int i = 0; i <= steps; i++) {
    double t = (double)i / steps;
    if (dashed && fmod(*phase + t * len, 20.0) >= 12.0)
      continue;
    int x = (int)lround(x0 + t * dx), y = (int)lround(y0 + t * dy);
    fill(c, x, y, x + 1, y + 1, col);
  }
  *phase += len;
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about 8 ticks. */
static double nice_step(double range)
{
  double raw = range / 8.0, p = pow(10.0, floor(log10(raw)));
  double m = raw / p;
  return (m <= 1.0 ? 1.0 : m <= 2.0 ? 2.0 : m <= 5.0 ? 5.0 : 10.0) * p;
}


typedef struct {
  double v;     /* value at the tick */
  int major;    /* major grid line (minor: lighter, log axis only) */
  int labelled; /* tick label drawn */
} tick;

static int drawable(ex_scale scale, double v)
{
  return isfinite(v) && (scale == EX_SCALE_LINEAR || v > 0.0);
}

/* Ticks of the y axis for data in [ymin, ymax]; sets the axis range
 * [*lo, *hi] in axis units (log10 of the value on a log axis). */
static size_t y_ticks(ex_scale scale, double ymin, double ymax, tick *t,
                      double *lo, double *hi)
{
  size_t n = 0;
  if (scale == EX_SCALE_LOG) {
    /* Whole decades; every decade labelled, 2..9 times each decade light;
     * with few decades, label 2 and 5 too (minor lines only up to 20
     * decades, where they still mean something). */
    double d0 = floor(log10(ymin)), d1 = ceil(log10(ymax));
    if (d1 <= d0)
      d1 = d0 + 1.0;
    int few = d1 - d0 <= 2.0, minor = d1 - d0 <= 20.0;
    for (double d = d0; d < d1 + 0.5 && n < MAX_TICKS; d += 1.0)
      for (int m = 1; m <= (minor ? 9 : 1) && n < MAX_TICKS; m++) {
        double v = (double)m * pow(10.0, d);
        if (log10(v) > d1 + 1e-9)
          break;
        t[n++] = (tick){v, m == 1, m == 1 || (few && (m == 2 || m == 5))};
      }
    *lo = d0;
    *hi = d1;
    return n;
  }
  if (ymax - ymin <= 1e-12 * fmax(1.0, fabs(ymax))) {
    double pad = ymax != 0.0 ? 0.1 * fabs(ymax) : 1.0;
    ymin -= pad;
    ymax += pad;
  }
  double step = nice_step(ymax - ymin);
  double k0 = floor(ymin / step), k1 = ceil(ymax / step);
  for (double k = k0; k <= k1 && n < MAX_TICKS; k += 1.0) {
    double v = k * step;
    t[n++] = (tick){fabs(v) < 1e-9 * step ? 0.0 : v, 1, 1};
  }
  *lo = k0 * step;
  *hi = k1 * step;
  return n;
}

int ex_plot_png(const char *path, const ex_series *series, size_t count,
                const ex_plot_style *style, char *err, size_t errlen)
{
  const rgb black = {0, 0, 0}, grid = {225, 225, 225}, minor = {242, 242, 242};
  const ex_scale scale = style->yscale;
  double ymin = INFINITY, ymax = -INFINITY, xmin = INFINITY, xmax = -INFINITY;
  for (size_t s = 0; s < count; s++)
    for (size_t t = 0; t < series[s].n; t++) {
      double x = series[s].x ? series[s].x[t] : (double)t, v = series[s].y[t];
      if (!isfinite(x))
        continue;
      xmin = fmin(xmin, x);
      xmax = fmax(xmax, x);
      if (drawable(scale, v)) {
        ymin = fmin(ymin, v);
        ymax = fmax(ymax, v);
      }
    }
  if (!(ymax >= ymin) || !(xmax > xmin)) {
    snprintf(err, errlen, "nothing to plot");
    return -1;
  }
  tick ticks[MAX_TICKS];
  double lo, hi;
  size_t nticks = y_ticks(scale, ymin, ymax, ticks, &lo, &hi);

  /* Room for the widest y tick label between the vertical y label and the
   * axis. */
  char buf[64];
  int left = LEFT;
  for (size_t i = 0; i < nticks; i++)
    if (ticks[i].labelled) {
      snprintf(buf, sizeof buf, "%g", ticks[i].v);
      int need = YLABEL_X + 7 * SCALE + 10 + text_width(buf) + 10;
      left = need > left ? need : left;
    }

  canvas c = {calloc((size_t)WIDTH * HEIGHT * 3, 1)};
  if (!c.px) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  memset(c.px, 255, (size_t)WIDTH * HEIGHT * 3);
#define PX(x) (left + (((double)(x) - xmin) / (xmax - xmin)) * (RIGHT - left))
#define PY(v) (BOTTOM - (((scale == EX_SCALE_LOG ? log10(v) : (v)) - lo) / (hi - lo)) * (BOTTOM - TOP))

  for (size_t i = 0; i < nticks; i++) {
    int y = (int)lround(PY(ticks[i].v));
    fill(&c, left, y, RIGHT, y, ticks[i].major ? grid : minor);
    fill(&c, left - 6, y, left, y, black);
    if (ticks[i].labelled) {
      snprintf(buf, sizeof buf, "%g", ticks[i].v);
      text(&c, left - 10 - text_width(buf), y - 7, buf, black, 0);
    }
  }
  double step = nice_step(xmax - xmin);
  if (style->integer_x && step < 1.0)
    step = 1.0;
  for (double k = ceil(xmin / step - 1e-9); k * step <= xmax + 1e-9 * (xmax - xmin); k += 1.0) {
    double t = k * step;
    if (fabs(t) < 1e-9 * step)
      t = 0.0;
    int x = (int)lround(PX(t));
    fill(&c, x, TOP, x, BOTTOM, grid);
    fill(&c, x, BOTTOM, x, BOTTOM + 6, black);
    snprintf(buf, sizeof buf, "%g", t);
    text(&c, x - text_width(buf) / 2, BOTTOM + 12, buf, black, 0);
  }
  /* Frame. */
  fill(&c, left, TOP, RIGHT, TOP + 1, black);
  fill(&c, left, BOTTOM, RIGHT, BOTTOM + 1, black);
  fill(&c, left - 1, TOP, left, BOTTOM, black);
  fill(&c, RIGHT, TOP, RIGHT + 1, BOTTOM + 1, black);

  for (size_t s = 0; s < count; s++) {
    rgb col = palette[s % (sizeof palette / sizeof palette[0])];
    int dashed = series[s].dashed;
    /* Stagger the dash pattern so that overlapping dashed series show
     * both colours. */
    double phase = 7.0 * (double)s;
    int have = 0;
    double px = 0, py = 0;
    for (size_t t = 0; t < series[s].n; t++) {
      double xv = series[s].x ? series[s].x[t] : (double)t, v = series[s].y[t];
      if (!drawable(scale, v) || !isfinite(xv)) {
        have = 0;
        continue;
      }
      double x = PX(xv), y = PY(v);
      if (have)
        line(&c, px, py, x, y, col, dashed, &phase);
      px = x;
      py = y;
      have = 1;
    }
    /* Legend entry. */
    int ly = TOP + 10 + (int)s * (LINE_H + 8);
    double ph = 0.0;
    line(&c, RIGHT + 25, ly + 6, RIGHT + 70, ly + 6, col, dashed, &ph);
    text(&c, RIGHT + 80, ly, series[s].label ? series[s].label : "", black, 0);
  }
#undef PX
#undef PY

  if (style->title)
    text(&c, (left + RIGHT - text_width(style->title)) / 2, 20, style->title, black, 0);
  if (style->xlabel)
    text(&c, (left + RIGHT - text_width(style->xlabel)) / 2, BOTTOM + 42,
         style->xlabel, black, 0);
  if (style->ylabel)
    text(&c, YLABEL_X, (TOP + BOTTOM + text_width(style->ylabel)) / 2,
         style->ylabel, black, 1);

  int rc = ex_png_write(path, WIDTH, HEIGHT, 3, c.px, err, errlen);
  free(c.px);
  return rc;
}
