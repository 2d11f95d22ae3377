/* The progress line. */
#include "progress.h"

#include <inttypes.h>
#include <math.h>
#include <unistd.h>

void vae_progress_init(vae_progress *p, FILE *f, int tty, double interval_s)
{
  *p = (vae_progress){f, tty < 0 ? isatty(fileno(f)) : tty, 0, interval_s, -1.0};
}

void vae_format_duration(char *buf, size_t len, double s)
{
  if (!(s >= 0.0) || !isfinite(s)) {
    snprintf(buf, len, "?");
    return;
  }
  uint64_t t = (uint64_t)llround(s);
  if (t < 60)
    snprintf(buf, len, "%" PRIu64 "s", t);
  else if (t < 3600)
    snprintf(buf, len, "%" PRIu64 ":%02" PRIu64, t / 60, t % 60);
  else
    snprintf(buf, len, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64, t / 3600, t / 60 % 60, t % 60);
}

double vae_progress_eta(uint64_t done, double elapsed_s, uint64_t left)
{
  return done ? elapsed_s / (double)done * (double)left : NAN;
}

int vae_progress_format(char *buf, size_t len, const vae_progress_info *i)
{
  char eta[32];
  vae_format_duration(eta, sizeof eta, i->eta_s);
  return snprintf(buf, len,
                  "epoch %" PRIu64 "/%" PRIu64 "  step %" PRIu64 "/%" PRIu64
                  "  loss %.2f (recon %.2f + kl %.2f)  sigma %.3f  %.0f img/s  ETA %s",
                  i->epoch, i->epochs, i->step, i->steps, i->loss, i->recon, i->kl,
                  i->sigma, i->images_per_s, eta);
}

void vae_progress_update(vae_progress *p, const vae_progress_info *info, double now,
                         int force)
{
  double gap = p->tty ? 0.1 : p->interval;
  if (!force && p->last >= 0.0 && now - p->last < gap)
    return;
  char line[256];
  vae_progress_format(line, sizeof line, info);
  if (p->tty) {
    fprintf(p->f, "\r%s\033[K", line); /* erase what a longer line left */
    p->open = 1;
  } else {
    fprintf(p->f, "%s\n", line);
  }
  fflush(p->f);
  p->last = now;
}

void vae_progress_break(vae_progress *p)
{
  if (p->open) {
    fputc('\n', p->f);
    fflush(p->f);
    p->open = 0;
  }
}
