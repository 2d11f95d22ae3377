/* Seeded permutations, split and batch order on spd_rng streams. */
#include "batch.h"

#include <spreaddiv.h>

#include <stdlib.h>
#include <string.h>

enum { CHUNK = 1024 }; /* uint32 draws fetched at a time */

typedef struct {
  spd_rng *rng;
  uint32_t buf[CHUNK];
  size_t pos;
} draws;

static int draw(draws *d, uint32_t *out)
{
  if (d->pos == CHUNK) {
    if (spd_rng_uint32(d->rng, d->buf, CHUNK) != SPD_OK)
      return -1;
    d->pos = 0;
  }
  *out = d->buf[d->pos++];
  return 0;
}

/* Uniform in [0, range) without bias (Lemire's multiply-and-reject). */
static int bounded(draws *d, uint32_t range, uint32_t *out)
{
  uint32_t x;
  if (draw(d, &x) != 0)
    return -1;
  uint64_t m = (uint64_t)x * range;
  uint32_t low = (uint32_t)m;
  if (low < range) {
    uint32_t t = (uint32_t)-range % range;
    while (low < t) {
      if (draw(d, &x) != 0)
        return -1;
      m = (uint64_t)x * range;
      low = (uint32_t)m;
    }
  }
  *out = (uint32_t)(m >> 32);
  return 0;
}

int vae_permutation(uint64_t seed, uint64_t stream, size_t n, size_t *perm)
{
  if (!perm || n > UINT32_MAX)
    return -1;
  draws *d = malloc(sizeof *d);
  if (!d)
    return -1;
  d->pos = CHUNK;
  if (spd_rng_create_stream(seed, stream, &d->rng) != SPD_OK) {
    free(d);
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < n; i++)
    perm[i] = i;
  for (size_t i = n; i > 1; i--) {
    uint32_t j;
    if (bounded(d, (uint32_t)i, &j) != 0) {
      rc = -1;
      break;
    }
    size_t t = perm[i - 1];
    perm[i - 1] = perm[j];
    perm[j] = t;
  }
  spd_rng_free(d->rng);
  free(d);
  return rc;
}

int vae_split_seeded(uint64_t seed, size_t n, size_t held, uint8_t *held_out)
{
  if (!held_out || held == 0 || held >= n)
    return -1;
  size_t *perm = malloc(n * sizeof *perm);
  if (!perm || vae_permutation(seed, VAE_STREAM_SPLIT, n, perm) != 0) {
    free(perm);
    return -1;
  }
  memset(held_out, 0, n);
  for (size_t i = 0; i < held; i++)
    held_out[perm[i]] = 1;
  free(perm);
  return 0;
}

struct vae_shuffler {
  size_t n, batch;
  uint64_t seed, step;
  uint64_t perm_epoch; /* epoch held in perm, or UINT64_MAX for none */
  size_t *perm;
};

int vae_shuffler_create(size_t n, size_t batch, uint64_t seed, vae_shuffler **out)
{
  if (!out || batch == 0 || batch > n || n > UINT32_MAX)
    return -1;
  vae_shuffler *s = malloc(sizeof *s);
  size_t *perm = malloc(n * sizeof *perm);
  if (!s || !perm) {
    free(s);
    free(perm);
    return -1;
  }
  *s = (vae_shuffler){n, batch, seed, 0, UINT64_MAX, perm};
  *out = s;
  return 0;
}

void vae_shuffler_free(vae_shuffler *s)
{
  if (!s)
    return;
  free(s->perm);
  free(s);
}

uint64_t vae_shuffler_batches_per_epoch(const vae_shuffler *s)
{
  return s->n / s->batch;
}

uint64_t vae_shuffler_step(const vae_shuffler *s)
{
  return s->step;
}

void vae_shuffler_seek(vae_shuffler *s, uint64_t step)
{
  s->step = step;
}

int vae_shuffler_next(vae_shuffler *s, size_t *idx, uint64_t *epoch)
{
  uint64_t per = vae_shuffler_batches_per_epoch(s);
  uint64_t e = s->step / per, b = s->step % per;
  if (e != s->perm_epoch) {
    s->perm_epoch = UINT64_MAX;
    if (vae_permutation(s->seed, VAE_STREAM_SHUFFLE_BASE + e, s->n, s->perm) != 0)
      return -1;
    s->perm_epoch = e;
  }
  memcpy(idx, s->perm + b * s->batch, s->batch * sizeof *idx);
  if (epoch)
    *epoch = e;
  s->step++;
  return 0;
}
