/* The progress line on stderr, for a person watching:
 *
 *   epoch 2/3  step 1234/1800  loss 312.41 (recon 298.10 + kl 14.31)  sigma 0.500  2410 img/s  ETA 0:23
 *
 * On a terminal it is redrawn in place (carriage return, at most 10 times a
 * second); otherwise (a log file, a pipe) a plain line is written every
 * `interval` seconds, and always for the last step. */
#ifndef VAE_PROGRESS_H
#define VAE_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
  uint64_t epoch, epochs;      /* 1-based epoch of the step, and how many */
  uint64_t step, steps;        /* steps done, and the total of the run */
  double loss, recon, kl, sigma;
  double images_per_s;
  double eta_s;                /* seconds left; NaN or < 0: unknown */
} vae_progress_info;

typedef struct {
  FILE *f;
  int tty;         /* redraw in place */
  int open;        /* a redrawn line is on screen (needs a newline) */
  double interval; /* seconds between plain lines */
  double last;     /* when the last line was drawn; < 0: never */
} vae_progress;

/* tty: 1 redraw in place, 0 plain lines, -1 decide with isatty(f). */
void vae_progress_init(vae_progress *p, FILE *f, int tty, double interval_s);

/* Draw info if it is time to (now: seconds on any monotonic clock), or
 * anyway with force. */
void vae_progress_update(vae_progress *p, const vae_progress_info *info, double now,
                         int force);

/* End a redrawn line with a newline (before other output, and at the end). */
void vae_progress_break(vae_progress *p);

/* The line itself, without a newline. Returns what snprintf returns. */
int vae_progress_format(char *buf, size_t len, const vae_progress_info *info);

/* Seconds left at a steady rate: elapsed / done * left (NaN if done is 0). */
double vae_progress_eta(uint64_t done, double elapsed_s, uint64_t left);

/* "42s", "3:05", "1:02:03" (h:mm:ss); "?" for NaN or negative. */
void vae_format_duration(char *buf, size_t len, double seconds);

#endif /* VAE_PROGRESS_H */
