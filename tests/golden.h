/* Reader for the golden files written by tests/golden/make_golden.py. */
#ifndef SPDT_GOLDEN_H
#define SPDT_GOLDEN_H

#include <stddef.h>

#define SPDT_GOLDEN_MAX 64

typedef struct {
  char tag[64];  /* input, grad, stat, step */
  char name[64];
  int ndim;
  size_t shape[4];
  size_t n;
  double *v;
} spdt_gtensor;

typedef struct {
  char kind[64]; /* graph or optim */
  char name[64];
  int nt;
  spdt_gtensor t[SPDT_GOLDEN_MAX];
  int nloss;
  double loss[SPDT_GOLDEN_MAX];
  int nset;
  char set_key[8][32];
  double set_val[8];
} spdt_gsection;

/* Read section `name` of SPDT_GOLDEN_DIR/file; fails the test if absent. */
spdt_gsection *spdt_golden_read(const char *file, const char *name);
void spdt_golden_free(spdt_gsection *s);

/* The k-th (0-based) tensor with this tag and name, or NULL. */
const spdt_gtensor *spdt_golden_get(const spdt_gsection *s, const char *tag, const char *name,
                                    int k);

/* As float32 (inputs were float32 values to begin with). malloc'ed. */
float *spdt_golden_floats(const spdt_gtensor *g);

/* Assert |got - want| <= rtol * max(|want_i|, 0.01 max(S, floor))
 * elementwise, S = max_j |want_j|: relative error with a floor at 1% of the
 * tensor's scale, so that elements which cancel to almost 0 are judged
 * against the scale; `floor` does the same for a tensor that cancels as a
 * whole (a bias before batch norm has an exactly zero gradient). */
void spdt_golden_compare(const char *what, const float *got, const spdt_gtensor *want,
                         double rtol, double floor);

/* Largest |value| over every tensor with this tag. */
double spdt_golden_scale(const spdt_gsection *s, const char *tag);

#endif /* SPDT_GOLDEN_H */
