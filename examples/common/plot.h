/* A line plot written as a 1280 x 720 RGB PNG: one or more series, a linear
 * or log-scaled y axis, labelled axes, a title and a legend beside the
 * plot. Text uses a built-in bitmap font, so nothing but libpng is needed. */
#ifndef EX_PLOT_H
#define EX_PLOT_H

#include <stddef.h>

typedef enum { EX_SCALE_LINEAR = 0, EX_SCALE_LOG = 1 } ex_scale;

typedef struct {
  const char *label; /* legend text (NULL: empty) */
  const double *x;   /* x[t]; NULL: x[t] = t */
  const double *y;   /* y[t]; NaN, Inf (and on a log axis, y <= 0) are
                        skipped and break the line */
  size_t n;          /* points */
  int dashed;        /* draw this series dashed */
} ex_series;

typedef struct {
  const char *title, *xlabel, *ylabel; /* NULL: none */
  ex_scale yscale;
  int integer_x; /* x ticks at whole numbers only (iterations, steps) */
} ex_plot_style;

/* Write the plot to path. The x axis spans the smallest to the largest
 * finite x of all series; the y axis spans the drawable y values (whole
 * decades on a log axis, "nice" tick steps on a linear one). Returns 0, or
 * -1 with a message in err ("nothing to plot" when no series has two x
 * values apart or no drawable y; libpng and file errors name path). */
int ex_plot_png(const char *path, const ex_series *series, size_t count,
                const ex_plot_style *style, char *err, size_t errlen);

#endif /* EX_PLOT_H */
