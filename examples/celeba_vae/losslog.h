/* loss.csv and the loss curve. One row per logged training step:
 *
 *     step,epoch,loss,recon,kl,sigma,images_per_s,seconds
 *
 * step: steps done (1-based); epoch: 0-based epoch of that step; loss =
 * recon + kl, in nats per image (MATH.md section 5: recon = -log N(t; xhat,
 * sigma^2 I), kl = log q(z|y) - log N(z; 0, I), batch means); sigma: the
 * spread at that step; images_per_s: training speed since the previous
 * row; seconds: wall time since the run (or its first part) started. Rows
 * are flushed as they are written, so `tail -f` shows them. */
#ifndef VAE_LOSSLOG_H
#define VAE_LOSSLOG_H

#include <stddef.h>
#include <stdint.h>

#define VAE_LOSS_CSV_HEADER "step,epoch,loss,recon,kl,sigma,images_per_s,seconds"

typedef struct {
  uint64_t step, epoch;
  double loss, recon, kl, sigma, images_per_s, seconds;
} vae_loss_row;

typedef struct vae_losslog vae_losslog;

/* Start the log at path. resume_step 0: a new file (an old one is
 * replaced). resume_step > 0 (a resumed run): the rows of an existing file
 * with step <= resume_step are kept (the rest were written after the
 * checkpoint and are dropped), then the log continues. Returns 0, or -1
 * with a message naming path. */
int vae_losslog_open(const char *path, uint64_t resume_step, vae_losslog **out,
                     char *err, size_t errlen);

/* Append a row (written and flushed at once). Returns 0 or -1. */
int vae_losslog_append(vae_losslog *log, const vae_loss_row *row, char *err,
                       size_t errlen);

/* The rows so far (including those kept on resume). */
size_t vae_losslog_count(const vae_losslog *log);
const vae_loss_row *vae_losslog_rows(const vae_losslog *log);

/* The loss curve: loss, recon and kl against step, on a log axis when every
 * value is positive and a linear one otherwise (an annealed sigma can make
 * the Gaussian term negative). Needs two rows. Returns 0 or -1. */
int vae_losslog_plot(const vae_losslog *log, const char *png_path,
                     const char *title, char *err, size_t errlen);

/* Close the file; accepts NULL. Returns 0, or -1 if the last writes failed. */
int vae_losslog_close(vae_losslog *log);

#endif /* VAE_LOSSLOG_H */
