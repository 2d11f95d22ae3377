/* A line plot written as a PNG with libpng: one series per run, log-scaled
 * y axis, labelled axes and a legend. */
#ifndef ICA_PLOT_H
#define ICA_PLOT_H

#include <stddef.h>

typedef struct {
  const char *label;
  const double *y; /* y[t] for t = 0 .. n-1; non-positive or NaN values skipped */
  size_t n;
  int dashed; /* draw this series dashed */
} ica_series;

/* Write a width x height RGB PNG to path. Returns 0, or -1 (message in
 * err, which has room for errlen bytes). */
int ica_plot_png(const char *path, const ica_series *series, size_t count,
                 const char *title, const char *xlabel, const char *ylabel,
                 char *err, size_t errlen);

#endif /* ICA_PLOT_H */
