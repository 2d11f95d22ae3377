/* loss.csv writer (and reader, for resuming) and the loss curve. */
#include "losslog.h"

#include "plot.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vae_losslog {
  FILE *f;
  char *path;
  vae_loss_row *rows;
  size_t n, cap;
};

static int keep(vae_losslog *l, const vae_loss_row *r)
{
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 256;
    vae_loss_row *p = realloc(l->rows, cap * sizeof *p);
    if (!p)
      return -1;
    l->rows = p;
    l->cap = cap;
  }
  l->rows[l->n++] = *r;
  return 0;
}

static int write_row(FILE *f, const vae_loss_row *r)
{
  return fprintf(f, "%" PRIu64 ",%" PRIu64 ",%.9g,%.9g,%.9g,%.6g,%.6g,%.3f\n", r->step,
                 r->epoch, r->loss, r->recon, r->kl, r->sigma, r->images_per_s,
                 r->seconds) < 0 ? -1 : 0;
}

/* Rows of an existing log with step <= upto. A missing file has none. */
static int read_rows(vae_losslog *l, uint64_t upto, char *err, size_t errlen)
{
  FILE *f = fopen(l->path, "r");
  if (!f) {
    if (errno == ENOENT)
      return 0;
    snprintf(err, errlen, "cannot read %s: %s", l->path, strerror(errno));
    return -1;
  }
  char line[512];
  while (fgets(line, sizeof line, f)) {
    vae_loss_row r;
    if (sscanf(line, "%" SCNu64 ",%" SCNu64 ",%lf,%lf,%lf,%lf,%lf,%lf", &r.step, &r.epoch,
               &r.loss, &r.recon, &r.kl, &r.sigma, &r.images_per_s, &r.seconds) != 8)
      continue; /* the header */
    if (r.step <= upto && keep(l, &r) != 0) {
      fclose(f);
      snprintf(err, errlen, "reading %s: out of memory", l->path);
      return -1;
    }
  }
  fclose(f);
  return 0;
}

int vae_losslog_open(const char *path, uint64_t resume_step, vae_losslog **out,
                     char *err, size_t errlen)
{
  vae_losslog *l = calloc(1, sizeof *l);
  if (!l || !(l->path = strdup(path))) {
    free(l);
    snprintf(err, errlen, "%s: out of memory", path);
    return -1;
  }
  if (resume_step > 0 && read_rows(l, resume_step, err, errlen) != 0) {
    vae_losslog_close(l);
    return -1;
  }
  l->f = fopen(path, "w");
  if (!l->f) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    vae_losslog_close(l);
    return -1;
  }
  int bad = fprintf(l->f, VAE_LOSS_CSV_HEADER "\n") < 0;
  for (size_t i = 0; i < l->n && !bad; i++)
    bad = write_row(l->f, &l->rows[i]) != 0;
  if (bad || fflush(l->f) != 0) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    vae_losslog_close(l);
    return -1;
  }
  *out = l;
  return 0;
}

int vae_losslog_append(vae_losslog *l, const vae_loss_row *row, char *err, size_t errlen)
{
  if (keep(l, row) != 0) {
    snprintf(err, errlen, "%s: out of memory", l->path);
    return -1;
  }
  if (write_row(l->f, row) != 0 || fflush(l->f) != 0) {
    snprintf(err, errlen, "cannot write %s: %s", l->path, strerror(errno));
    return -1;
  }
  return 0;
}

size_t vae_losslog_count(const vae_losslog *l)
{
  return l->n;
}

const vae_loss_row *vae_losslog_rows(const vae_losslog *l)
{
  return l->rows;
}

int vae_losslog_plot(const vae_losslog *l, const char *png_path, const char *title,
                     char *err, size_t errlen)
{
  size_t n = l->n;
  double *v = malloc(4 * (n ? n : 1) * sizeof *v);
  if (!v) {
    snprintf(err, errlen, "cannot write %s: out of memory", png_path);
    return -1;
  }
  double *x = v, *loss = v + n, *recon = v + 2 * n, *kl = v + 3 * n;
  int positive = 1;
  for (size_t i = 0; i < n; i++) {
    x[i] = (double)l->rows[i].step;
    loss[i] = l->rows[i].loss;
    recon[i] = l->rows[i].recon;
    kl[i] = l->rows[i].kl;
    positive = positive && loss[i] > 0.0 && recon[i] > 0.0 && kl[i] > 0.0;
  }
  ex_series s[3] = {{"loss", x, loss, n, 0},
                    {"reconstruction term", x, recon, n, 0},
                    {"KL term", x, kl, n, 1}};
  ex_plot_style style = {title, "step",
                         positive ? "nats per image (log scale)" : "nats per image",
                         positive ? EX_SCALE_LOG : EX_SCALE_LINEAR, 1};
  char why[512];
  int rc = ex_plot_png(png_path, s, 3, &style, why, sizeof why);
  if (rc != 0) {
    if (strstr(why, png_path))
      snprintf(err, errlen, "%s", why);
    else
      snprintf(err, errlen, "cannot write %s: %s", png_path, why);
  }
  free(v);
  return rc;
}

int vae_losslog_close(vae_losslog *l)
{
  if (!l)
    return 0;
  int rc = l->f && fclose(l->f) != 0 ? -1 : 0;
  free(l->rows);
  free(l->path);
  free(l);
  return rc;
}
