/* Reader for the golden files: see golden.h. */
#include "golden.h"
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void read_values(FILE *f, spdt_gtensor *g)
{
  g->v = malloc((g->n ? g->n : 1) * sizeof *g->v);
  ck_assert_ptr_nonnull(g->v);
  for (size_t i = 0; i < g->n; i++)
    ck_assert_msg(fscanf(f, "%lf", &g->v[i]) == 1, "golden %s %s: short", g->tag, g->name);
}

spdt_gsection *spdt_golden_read(const char *file, const char *name)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", SPDT_GOLDEN_DIR, file);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  spdt_gsection *s = calloc(1, sizeof *s);
  ck_assert_ptr_nonnull(s);
  char word[64];
  int inside = 0, found = 0;
  while (fscanf(f, "%63s", word) == 1) {
    if (word[0] == '#') {
      int c;
      while ((c = fgetc(f)) != EOF && c != '\n')
        ;
      continue;
    }
    if (strcmp(word, "graph") == 0 || strcmp(word, "optim") == 0) {
      char nm[64];
      ck_assert(fscanf(f, "%63s", nm) == 1);
      inside = strcmp(nm, name) == 0;
      if (inside) {
        snprintf(s->kind, sizeof s->kind, "%s", word);
        snprintf(s->name, sizeof s->name, "%s", nm);
        found = 1;
      }
    } else if (strcmp(word, "end") == 0) {
      if (inside)
        break;
    } else if (strcmp(word, "loss") == 0) {
      double v;
      ck_assert(fscanf(f, "%lf", &v) == 1);
      if (inside && s->nloss < SPDT_GOLDEN_MAX)
        s->loss[s->nloss++] = v;
    } else if (strcmp(word, "set") == 0) {
      char key[32];
      double v;
      ck_assert(fscanf(f, "%31s %lf", key, &v) == 2);
      if (inside && s->nset < 8) {
        snprintf(s->set_key[s->nset], sizeof s->set_key[0], "%s", key);
        s->set_val[s->nset++] = v;
      }
    } else {
      spdt_gtensor g = { 0 };
      snprintf(g.tag, sizeof g.tag, "%s", word);
      ck_assert(fscanf(f, "%63s %d", g.name, &g.ndim) == 2);
      g.n = 1;
      for (int d = 0; d < g.ndim; d++) {
        ck_assert(fscanf(f, "%zu", &g.shape[d]) == 1);
        g.n *= g.shape[d];
      }
      read_values(f, &g);
      if (inside) {
        ck_assert_int_lt(s->nt, SPDT_GOLDEN_MAX);
        s->t[s->nt++] = g;
      } else {
        free(g.v);
      }
    }
  }
  fclose(f);
  ck_assert_msg(found, "no section %s in %s", name, path);
  return s;
}

void spdt_golden_free(spdt_gsection *s)
{
  for (int i = 0; i < s->nt; i++)
    free(s->t[i].v);
  free(s);
}

const spdt_gtensor *spdt_golden_get(const spdt_gsection *s, const char *tag, const char *name,
                                    int k)
{
  for (int i = 0; i < s->nt; i++)
    if (strcmp(s->t[i].tag, tag) == 0 && strcmp(s->t[i].name, name) == 0 && k-- == 0)
      return &s->t[i];
  return NULL;
}

float *spdt_golden_floats(const spdt_gtensor *g)
{
  float *x = malloc((g->n ? g->n : 1) * sizeof *x);
  ck_assert_ptr_nonnull(x);
  for (size_t i = 0; i < g->n; i++)
    x[i] = (float)g->v[i];
  return x;
}

double spdt_golden_scale(const spdt_gsection *s, const char *tag)
{
  double scale = 0;
  for (int i = 0; i < s->nt; i++)
    if (strcmp(s->t[i].tag, tag) == 0)
      for (size_t j = 0; j < s->t[i].n; j++)
        scale = fmax(scale, fabs(s->t[i].v[j]));
  return scale;
}

void spdt_golden_compare(const char *what, const float *got, const spdt_gtensor *want,
                         double rtol, double floor)
{
  ck_assert_msg(got != NULL, "%s: no values", what);
  ck_assert_msg(want != NULL, "%s: no golden values", what);
  double scale = floor;
  for (size_t i = 0; i < want->n; i++)
    scale = fmax(scale, fabs(want->v[i]));
  for (size_t i = 0; i < want->n; i++) {
    double ref = fmax(fabs(want->v[i]), 0.01 * scale);
    ck_assert_msg(fabs(got[i] - want->v[i]) <= rtol * ref,
                  "%s %s[%zu]: got %.9g, PyTorch %.9g (rtol %g)", what, want->name, i,
                  (double)got[i], want->v[i], rtol);
  }
}
