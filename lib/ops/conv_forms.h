/* Shared by the convolution forms: lib/ops/conv.c (image-major, NCHW
 * operands) and lib/ops/conv_chwn.c (batch-innermost copies). */
#ifndef SPDI_CONV_FORMS_H
#define SPDI_CONV_FORMS_H

#include "igemm.h"
#include "tape_impl.h"

#include <stdbool.h>
#include <stddef.h>

struct geom {
  size_t N;          /* images */
  size_t C, H, W;    /* image side */
  size_t G, Ho, Wo;  /* grid side: channels, size */
  size_t kh, kw, s, pad;
};

/* Scratch for one GEMM form: index arrays, a padded copy, driver work,
 * and where a deferred output gradient is written a group at a time
 * (grid, grid_per floats per thread; NULL when there is none). */
struct work {
  ptrdiff_t *idx;
  float *pad, *gemm, *grid;
  size_t grid_per;
  struct spdi_ukernel u;
  int nt;
};

static inline int work_get(spd_tape *t, size_t nidx, size_t npad, struct work *w)
{
  spdi_ukernel_get(&w->u);
  w->nt = spdi_threads();
  const size_t ib = (nidx * sizeof(ptrdiff_t) + 63) / 64 * 64;
  const size_t pb = (npad * sizeof(float) + 63) / 64 * 64;
  const size_t gb = spdi_igemm_work(&w->u, w->nt) * sizeof(float);
  char *p = spdi_tape_scratch(t, ib + pb + gb);
  if (p == NULL)
    return spd_tape_status(t);
  w->idx = (ptrdiff_t *)p;
  w->pad = (float *)(p + ib);
  w->gemm = (float *)(p + ib + pb);
  w->grid = NULL;
  w->grid_per = 0;
  return SPD_OK;
}

/* The padded image split into stride phases: each plane of the zero-padded
 * image (Hp x Wp) becomes s * s sub-planes of Hs x Ws, sub-plane (a, b)
 * holding the padded pixels (y s + a, x s + b). A tap (i, j) of output
 * pixel (oh, ow) then reads sub-plane (i mod s, j mod s) at (oh + i / s,
 * ow + j / s): consecutive output pixels of a row are consecutive floats,
 * for any stride, so the packing copies runs instead of striding and the
 * direct path of the GEMM driver applies. With s = 1 this is the padded
 * image itself. */
static inline size_t phase_h(const struct geom *g)
{
  return (g->H + 2 * g->pad + g->s - 1) / g->s;
}

static inline size_t phase_w(const struct geom *g)
{
  return (g->W + 2 * g->pad + g->s - 1) / g->s;
}

/* Taps of phase a along one axis: i with (a + pad - i) divisible by s, and
 * the grid offset d = (a + pad - i) / s each one reads. */
static inline size_t phase_taps(size_t a, size_t k, size_t s, size_t pad, size_t *tap, ptrdiff_t *d)
{
  size_t n = 0;
  for (size_t i = 0; i < k; i++) {
    ptrdiff_t v = (ptrdiff_t)(a + pad) - (ptrdiff_t)i;
    if (v % (ptrdiff_t)s == 0) {
      tap[n] = i;
      d[n++] = v / (ptrdiff_t)s;
    }
  }
  return n;
}

/* Zero padding of the grid tensor that every phase's reads stay inside:
 * [lo, hi) of grid rows read along an axis of image size n. */
static inline void phase_pad(size_t n, size_t k, size_t s, size_t pad, size_t ng, size_t *before,
                      size_t *after)
{
  ptrdiff_t lo = 0, hi = (ptrdiff_t)ng;
  size_t tap[64];
  ptrdiff_t d[64];
  for (size_t a = 0; a < s && a < n; a++) {
    size_t nt = phase_taps(a, k, s, pad, tap, d);
    ptrdiff_t count = (ptrdiff_t)((n - a + s - 1) / s);
    for (size_t q = 0; q < nt; q++) {
      lo = d[q] < lo ? d[q] : lo;
      hi = count + d[q] > hi ? count + d[q] : hi;
    }
  }
  *before = (size_t)-lo;
  *after = (size_t)hi - ng;
}

/* The grid's zero padding for every phase's reads (phase_pad), per axis:
 * pt rows above, pl columns left, Hq x Wq pixels per padded plane. */
struct phase_frame {
  size_t pt, pl, Hq, Wq;
};

static inline struct phase_frame phase_frame(const struct geom *g)
{
  size_t pt, pb, pl, pr;
  phase_pad(g->H, g->kh, g->s, g->pad, g->Ho, &pt, &pb);
  phase_pad(g->W, g->kw, g->s, g->pad, g->Wo, &pl, &pr);
  return (struct phase_frame){ pt, pl, g->Ho + pt + pb, g->Wo + pl + pr };
}

/* The K terms of stride phase (a, b)'s GEMM in PHASE, grid channel o
 * outermost, or with chan_fastest innermost (taps (x, y, o): the phase's
 * x-th kernel row, y-th column): ak[k] the weight's offset (o, 0, i, j),
 * bk[k] the grid's in the padded grid of f, `unit` floats per pixel (1 in
 * NCHW, the batch slots in a batch-innermost copy). Returns K, 0 where no
 * tap lands on the phase; ak and bk hold G kh kw entries. */
static inline size_t phase_tap_index(const struct geom *g, const struct phase_frame *f,
                                     size_t a, size_t b, size_t unit, bool chan_fastest,
                                     ptrdiff_t *ak, ptrdiff_t *bk)
{
  size_t ti[64], tj[64];
  ptrdiff_t di[64], dj[64];
  const size_t ni = phase_taps(a, g->kh, g->s, g->pad, ti, di);
  const size_t nj = phase_taps(b, g->kw, g->s, g->pad, tj, dj);
  const size_t kk = g->kh * g->kw, K = g->G * ni * nj;
  for (size_t k = 0; k < K; k++) {
    const size_t o = chan_fastest ? k % g->G : k / (ni * nj);
    const size_t xy = chan_fastest ? k / g->G : k % (ni * nj), x = xy / nj, y = xy % nj;
    ak[k] = (ptrdiff_t)(o * g->C * kk + ti[x] * g->kw + tj[y]);
    bk[k] = (((ptrdiff_t)(o * f->Hq) + di[x]) * (ptrdiff_t)f->Wq + dj[y]) * (ptrdiff_t)unit;
  }
  return K;
}

#endif /* SPDI_CONV_FORMS_H */
