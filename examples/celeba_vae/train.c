/* The training loop of spread-vae (train.h): batches in a seeded order,
 * one spread-VAE step each, and what a person watching needs: the progress
 * line, loss.csv, sample grids, checkpoints, Ctrl-C that saves. */
#include "train.h"

#include "batch.h"
#include "interrupt.h"
#include "losslog.h"
#include "model.h"
#include "output.h"
#include "snapshot.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Held-out images in the final loss (all of Fashion-MNIST's 10,000 take a
 * few seconds at the default width; CelebA's 20,000 would take minutes). */
enum { EVAL_IMAGES = 2000 };

typedef struct {
  const vae_run *run;
  const vae_config *cfg;
  spd_vae *vae;
  vae_snapshot snap;
  vae_shuffler *shuf;
  vae_losslog *log;
  size_t dim;
  float *x;
  size_t *idx;
  uint64_t first, last;  /* steps done when this process started; the run's end */
  double start;          /* monotonic seconds at the first step */
  double sum[3];         /* loss, recon, kl summed since the last logged row */
  uint64_t summed;
  char err[8192];
} trainer;

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(trainer *tr, const char *what)
{
  if (tr->run->progress)
    vae_progress_break(tr->run->progress);
  fprintf(tr->run->log, "spread-vae: %s%s\n", what ? what : "", what ? "" : tr->err);
  return 1;
}

/* The model: a new one, or the --resume checkpoint after checking that it
 * fits the data. */
static int open_model(trainer *tr, size_t c, size_t size)
{
  const vae_config *cfg = tr->cfg;
  if (!cfg->resume)
    return vae_model_create(cfg, c, size, &tr->vae, tr->err, sizeof tr->err);
  if (vae_model_load(cfg->resume, &tr->vae, tr->err, sizeof tr->err) != 0 ||
      vae_model_check_shape(tr->vae, cfg->resume, c, size, tr->err, sizeof tr->err) != 0)
    return -1;
  fprintf(tr->run->log, "spread-vae: resuming from %s at step %llu (the model and its "
          "training options come from the checkpoint)\n", cfg->resume,
          (unsigned long long)spd_vae_step_count(tr->vae));
  return 0;
}

static int setup(trainer *tr)
{
  const vae_images *train = &tr->run->data->train;
  const vae_config *cfg = tr->cfg;
  char path[4200];
  tr->dim = vae_images_dim(train);
  if (open_model(tr, train->c, train->h) != 0 ||
      vae_snapshot_init(&tr->snap, tr->vae, tr->run->out_dir, train->c, train->h, tr->err,
                        sizeof tr->err) != 0)
    return -1;
  tr->first = spd_vae_step_count(tr->vae);
  /* The model's seed, so that a resumed run keeps its batch order. */
  if (vae_shuffler_create(train->n, cfg->batch, spd_vae_seed(tr->vae), &tr->shuf) != 0) {
    snprintf(tr->err, sizeof tr->err, "cannot set up batches of %zu from %zu images",
             cfg->batch, train->n);
    return -1;
  }
  vae_shuffler_seek(tr->shuf, tr->first);
  uint64_t per_epoch = vae_shuffler_batches_per_epoch(tr->shuf);
  tr->last = cfg->epochs * per_epoch;
  if (cfg->steps && cfg->steps < tr->last)
    tr->last = cfg->steps;
  tr->x = malloc(cfg->batch * tr->dim * sizeof *tr->x);
  tr->idx = malloc(cfg->batch * sizeof *tr->idx);
  if (!tr->x || !tr->idx) {
    snprintf(tr->err, sizeof tr->err, "out of memory for a batch of %zu", cfg->batch);
    return -1;
  }
  if (vae_out_path(path, sizeof path, tr->run->out_dir, VAE_OUT_LOSS_CSV) != 0) {
    snprintf(tr->err, sizeof tr->err, "--out %s: path too long", tr->run->out_dir);
    return -1;
  }
  return vae_losslog_open(path, tr->first, &tr->log, tr->err, sizeof tr->err);
}

static void teardown(trainer *tr)
{
  vae_losslog_close(tr->log);
  vae_shuffler_free(tr->shuf);
  vae_snapshot_free(&tr->snap);
  spd_vae_free(tr->vae);
  free(tr->x);
  free(tr->idx);
}

static double images_per_s(const trainer *tr, uint64_t step)
{
  double elapsed = now_s() - tr->start;
  return elapsed > 0 ? (double)(step - tr->first) * (double)tr->cfg->batch / elapsed : 0;
}

/* Log the mean of the steps since the last row, and redraw the progress. */
static int report(trainer *tr, uint64_t step, uint64_t epoch, int force)
{
  double recon = 0, kl = 0;
  if (spd_vae_loss_parts(tr->vae, &recon, &kl) != SPD_OK)
    return snprintf(tr->err, sizeof tr->err, "%s", spd_last_error()), -1;
  double elapsed = now_s() - tr->start;
  double n = (double)tr->summed;
  if (tr->summed && (step % tr->cfg->log_every == 0 || force)) {
    vae_loss_row row = {step, epoch + 1, tr->sum[0] / n, tr->sum[1] / n, tr->sum[2] / n,
                        spd_vae_sigma(tr->vae), images_per_s(tr, step), elapsed};
    if (vae_losslog_append(tr->log, &row, tr->err, sizeof tr->err) != 0)
      return -1;
    memset(tr->sum, 0, sizeof tr->sum);
    tr->summed = 0;
  }
  if (tr->run->progress) {
    vae_progress_info info = {
      epoch + 1, tr->cfg->epochs, step, tr->last, (double)recon + kl, recon, kl,
      spd_vae_sigma(tr->vae), images_per_s(tr, step),
      vae_progress_eta(step - tr->first, elapsed, tr->last - step)};
    vae_progress_update(tr->run->progress, &info, now_s(), force);
  }
  return 0;
}

static int checkpoint(trainer *tr)
{
  char path[4200];
  if (vae_snapshot_checkpoint(&tr->snap, path, sizeof path, tr->err, sizeof tr->err) != 0)
    return -1;
  if (tr->run->progress)
    vae_progress_break(tr->run->progress);
  fprintf(tr->run->log, "spread-vae: step %llu: checkpoint %s\n",
          (unsigned long long)spd_vae_step_count(tr->vae), path);
  return 0;
}

/* Steps until the end of the run or a signal. */
static int train_steps(trainer *tr, uint64_t *epoch)
{
  const vae_config *cfg = tr->cfg;
  uint64_t step = tr->first;
  tr->start = now_s();
  while (step < tr->last && !vae_interrupted()) {
    float loss;
    if (vae_shuffler_next(tr->shuf, tr->idx, epoch) != 0)
      return snprintf(tr->err, sizeof tr->err, "batch order failed"), -1;
    vae_images_gather(&tr->run->data->train, tr->idx, cfg->batch, tr->x);
    if (spd_vae_step(tr->vae, tr->x, cfg->batch, &loss) != SPD_OK)
      return snprintf(tr->err, sizeof tr->err, "training step %llu: %s",
                      (unsigned long long)step + 1, spd_last_error()), -1;
    step = spd_vae_step_count(tr->vae);
    if (!isfinite(loss))
      return snprintf(tr->err, sizeof tr->err, "step %llu: the loss is %g; try a smaller "
                      "--lr", (unsigned long long)step, (double)loss), -1;
    double recon = 0, kl = 0;
    if (spd_vae_loss_parts(tr->vae, &recon, &kl) != SPD_OK)
      return snprintf(tr->err, sizeof tr->err, "%s", spd_last_error()), -1;
    tr->sum[0] += loss;
    tr->sum[1] += recon;
    tr->sum[2] += kl;
    tr->summed++;
    if (report(tr, step, *epoch, step == tr->last) != 0)
      return -1;
    if (cfg->sample_every && step % cfg->sample_every == 0 &&
        vae_snapshot_samples(&tr->snap, step, tr->err, sizeof tr->err) != 0)
      return -1;
    if (cfg->checkpoint_every && step % cfg->checkpoint_every == 0 && checkpoint(tr) != 0)
      return -1;
  }
  return 0;
}

/* After the last step: everything a person looks at, then the summary. */
static int finish(trainer *tr)
{
  const vae_run *run = tr->run;
  uint64_t step = spd_vae_step_count(tr->vae);
  double seconds = now_s() - tr->start, ips = images_per_s(tr, step);
  double loss = NAN, recon = NAN, kl = NAN;
  char path[4200];
  /* The checkpoint first: evaluating moves the VAE's evaluation stream, and
   * a run resumed from here must match one that never stopped. */
  if (checkpoint(tr) != 0 ||
      vae_snapshot_samples(&tr->snap, step, tr->err, sizeof tr->err) != 0 ||
      vae_snapshot_reconstructions(&tr->snap, &run->data->held_out, tr->err,
                                   sizeof tr->err) != 0 ||
      vae_snapshot_evaluate(&tr->snap, &run->data->held_out, EVAL_IMAGES, tr->cfg->batch,
                            &loss, &recon, &kl, tr->err, sizeof tr->err) != 0)
    return -1;
  if (vae_out_path(path, sizeof path, run->out_dir, VAE_OUT_LOSS_PNG) != 0)
    return snprintf(tr->err, sizeof tr->err, "--out %s: path too long", run->out_dir), -1;
  if (vae_losslog_count(tr->log) < 2)
    fprintf(run->log, "spread-vae: no loss curve: loss.csv has fewer than two rows "
            "(see --log-every)\n");
  else if (vae_losslog_plot(tr->log, path, "spread VAE: loss per image (nats)", tr->err,
                            sizeof tr->err) != 0)
    return -1;
  fprintf(run->log, "spread-vae: wrote samples.png, reconstructions.png, loss.png and "
          "loss.csv in %s\n", run->out_dir);
  double epochs = (double)step / (double)vae_shuffler_batches_per_epoch(tr->shuf);
  printf("summary steps=%llu epochs=%.2f heldout_loss=%.2f heldout_recon=%.2f "
         "heldout_kl=%.2f sigma=%.4g images_per_s=%.0f seconds=%.1f\n",
         (unsigned long long)step, epochs, loss, recon, kl,
         spd_vae_sigma(tr->vae), ips, seconds);
  return 0;
}

int vae_train(const vae_run *run)
{
  trainer *tr = calloc(1, sizeof *tr);
  if (!tr)
    return fputs("spread-vae: out of memory\n", run->log), 1;
  tr->run = run;
  tr->cfg = run->cfg;
  uint64_t epoch = 0;
  int rc = 0;
  if (setup(tr) != 0 || train_steps(tr, &epoch) != 0) {
    rc = fail(tr, NULL);
  } else if (vae_interrupted()) {
    int sig = vae_interrupted();
    rc = checkpoint(tr) != 0 ? fail(tr, NULL) : 128 + sig;
    if (rc == 128 + sig)
      fprintf(run->log, "spread-vae: interrupted at step %llu; continue with --resume "
              "%s/%s\n", (unsigned long long)spd_vae_step_count(tr->vae), run->out_dir,
              VAE_OUT_CHECKPOINT);
  } else if (finish(tr) != 0) {
    rc = fail(tr, NULL);
  }
  if (run->progress)
    vae_progress_break(run->progress);
  teardown(tr);
  free(tr);
  return rc;
}

int vae_sample(const vae_config *cfg, const char *out_dir, FILE *log)
{
  char err[8192];
  spd_vae *vae = NULL;
  vae_snapshot snap = {0};
  size_t c, size;
  int rc = 1;
  if (vae_model_load(cfg->sample, &vae, err, sizeof err) == 0 &&
      vae_model_image_shape(vae, &c, &size, err, sizeof err) == 0 &&
      vae_snapshot_init(&snap, vae, out_dir, c, size, err, sizeof err) == 0 &&
      vae_snapshot_samples(&snap, 0, err, sizeof err) == 0) {
    fprintf(log, "spread-vae: wrote %s/%s from %s (step %llu)\n", out_dir, VAE_OUT_SAMPLES,
            cfg->sample, (unsigned long long)spd_vae_step_count(vae));
    rc = 0;
  } else {
    fprintf(log, "spread-vae: %s\n", err);
  }
  vae_snapshot_free(&snap);
  spd_vae_free(vae);
  return rc;
}
