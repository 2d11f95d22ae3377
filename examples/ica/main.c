/* spread-ica: fit the noiseless ICA model x = A s with standard EM (which
 * freezes as its output noise goes to zero) and with EM on spread data
 * (MATH.md section 6), and compare them by the Amari distance to the true A.
 * Run `spread-ica --help`. */
#include "amari.h"
#include "data.h"
#include "em.h"
#include "fit.h"
#include "plot.h"

#include <spreaddiv.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LEVELS 16

typedef struct {
  size_t x_dim, z_dim, points, iterations, draws, anneal_draws;
  size_t anneal_start, anneal_end; /* gamma_s held until start, at TO from end */
  double gammas[MAX_LEVELS], spread_gammas[MAX_LEVELS];
  size_t n_gammas, n_spread;
  double anneal_from, anneal_to; /* anneal_from == 0: no annealed run */
  unsigned long long seed;
  int threads, quiet, anneal_window_set;
  const char *csv, *plot, *dump;
} options;

static void usage(FILE *f)
{
  fputs(
    "usage: spread-ica [options]\n"
    "\n"
    "Fit x = A s (noiseless ICA, mixture-of-Gaussians sources) by standard EM\n"
    "with a small output noise gamma and by spread EM (data and model spread\n"
    "by the same N(0, gamma_s^2 I)), all from the same initial A, and report\n"
    "the Amari distance to the true A per iteration.\n"
    "\n"
    "  --x-dim X              observed dimension (default 10)\n"
    "  --z-dim Z              sources, 1..16, Z <= X (default 10; the E-step\n"
    "                         enumerates 2^Z assignments per point)\n"
    "  --points N             data points, >= X (default 4000)\n"
    "  --iterations T         EM iterations per run (default 300)\n"
    "  --gammas LIST          standard EM output noise levels\n"
    "                         (default 0.1,0.01,0.001; 'none' for no run)\n"
    "  --spread-gammas LIST   spread EM scales gamma_s, held fixed\n"
    "                         (default 0.5,1,2; 'none' for no run)\n"
    "  --anneal FROM:TO       one more spread EM run with gamma_s annealed\n"
    "                         geometrically from FROM to TO (default 1:0.4);\n"
    "                         'none' for no such run\n"
    "  --anneal-window A:B    hold FROM up to iteration A, reach TO at\n"
    "                         iteration B, hold it after (default T/2:5T/6)\n"
    "  --draws S              spread samples per point per iteration, fixed\n"
    "                         runs (default 1)\n"
    "  --anneal-draws S       the same for the annealed run (default 1)\n"
    "  --seed S               seed of data, initial A and spread noise\n"
    "                         (default 1)\n"
    "  --threads T            threads for BLIS and the E-step, >= 1\n"
    "                         (default 1); results do not depend on it\n"
    "  --csv FILE             one row per iteration and run\n"
    "  --plot FILE            PNG of Amari distance against iteration\n"
    "                         (default spread-ica.png); --no-plot for none\n"
    "  --dump-data FILE       write A_true and the data for\n"
    "                         fastica_reference.py, then run as usual\n"
    "  --quiet                no progress lines on stderr\n"
    "  --help                 this text\n"
    "\n"
    "The last line on stdout is\n"
    "  summary standard_em=<amari> spread_em=<amari> iterations=<n> seconds=<t>\n"
    "with the final Amari distance of the best setting of each algorithm (nan\n"
    "if it had no run) and the wall time of the program.\n",
    f);
}

static int fail(const char *fmt, const char *a, const char *b)
{
  fprintf(stderr, "spread-ica: ");
  fprintf(stderr, fmt, a, b);
  fprintf(stderr, "\n(see spread-ica --help)\n");
  return 2;
}

static int parse_size(const char *opt, const char *s, size_t lo, size_t hi,
                      size_t *out)
{
  char *end;
  errno = 0;
  if (!s || !*s || *s == '-' || *s == '+')
    return fail("%s needs a whole number, got '%s'", opt, s ? s : "");
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < lo || v > hi) {
    char range[64];
    snprintf(range, sizeof range, "%zu..%zu", lo, hi);
    fprintf(stderr, "spread-ica: %s must be a whole number in %s, got '%s'\n"
                    "(see spread-ica --help)\n", opt, range, s);
    return 2;
  }
  *out = (size_t)v;
  return 0;
}

static int parse_positive(const char *opt, const char *s, double *out)
{
  char *end;
  errno = 0;
  double v = s && *s ? strtod(s, &end) : NAN;
  if (!s || !*s || errno || *end || !(v > 0.0) || !isfinite(v) || v > 1e6)
    return fail("%s needs positive numbers (at most 1e6), got '%s'", opt,
                s ? s : "");
  *out = v;
  return 0;
}

static int parse_list(const char *opt, const char *s, double *out, size_t *n)
{
  char buf[512];
  if (s && !strcmp(s, "none")) {
    *n = 0;
    return 0;
  }
  if (!s || strlen(s) >= sizeof buf)
    return fail("%s needs a comma-separated list, got '%s'", opt, s ? s : "");
  strcpy(buf, s);
  *n = 0;
  for (char *tok = buf, *next; tok; tok = next) {
    next = strchr(tok, ',');
    if (next)
      *next++ = '\0';
    if (*n == MAX_LEVELS)
      return fail("%s takes at most 16 values, got '%s'", opt, s);
    if (parse_positive(opt, tok, &out[*n]) != 0)
      return 2;
    (*n)++;
  }
  return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      usage(stdout);
      exit(0);
    }
    if (!strcmp(arg, "--quiet")) {
      o->quiet = 1;
      continue;
    }
    if (!strcmp(arg, "--no-plot")) {
      o->plot = NULL;
      continue;
    }
    /* Every other option takes a value: "--opt VALUE" or "--opt=VALUE". */
    char name[64];
    const char *val, *eq = strchr(arg, '=');
    if (strncmp(arg, "--", 2) != 0)
      return fail("unexpected argument '%s'%s", arg, "");
    if (eq) {
      size_t len = (size_t)(eq - arg);
      if (len >= sizeof name)
        return fail("unknown option '%s'%s", arg, "");
      memcpy(name, arg, len);
      name[len] = '\0';
      val = eq + 1;
    } else {
      if (strlen(arg) >= sizeof name)
        return fail("unknown option '%s'%s", arg, "");
      strcpy(name, arg);
      val = i + 1 < argc ? argv[++i] : NULL;
    }
    int known = 1, rc = 0;
    size_t v;
    if (!strcmp(name, "--x-dim"))
      rc = parse_size(name, val, 1, 1024, &o->x_dim);
    else if (!strcmp(name, "--z-dim"))
      rc = parse_size(name, val, 1, ICA_MAX_Z, &o->z_dim);
    else if (!strcmp(name, "--points"))
      rc = parse_size(name, val, 1, 10000000, &o->points);
    else if (!strcmp(name, "--iterations"))
      rc = parse_size(name, val, 1, 1000000, &o->iterations);
    else if (!strcmp(name, "--anneal-window")) {
      char buf[64];
      char *colon;
      if (!val || strlen(val) >= sizeof buf || !(colon = strchr(strcpy(buf, val), ':')))
        return fail("%s needs A:B, got '%s'", name, val ? val : "");
      *colon = '\0';
      if (parse_size(name, buf, 0, 1000000, &o->anneal_start) ||
          parse_size(name, colon + 1, 0, 1000000, &o->anneal_end))
        return 2;
      if (o->anneal_end < o->anneal_start)
        return fail("%s needs A <= B, got '%s'%s", name, val);
      o->anneal_window_set = 1;
    } else if (!strcmp(name, "--draws"))
      rc = parse_size(name, val, 1, 1000, &o->draws);
    else if (!strcmp(name, "--anneal-draws"))
      rc = parse_size(name, val, 1, 1000, &o->anneal_draws);
    else if (!strcmp(name, "--threads")) {
      rc = parse_size(name, val, 1, 256, &v);
      o->threads = (int)v;
    } else if (!strcmp(name, "--seed")) {
      char *end;
      errno = 0;
      if (!val || !*val || *val == '-' || *val == '+')
        return fail("%s needs a whole number, got '%s'", name, val ? val : "");
      o->seed = strtoull(val, &end, 0);
      if (errno || *end)
        return fail("%s needs a whole number below 2^64, got '%s'", name, val);
    } else if (!strcmp(name, "--gammas"))
      rc = parse_list(name, val, o->gammas, &o->n_gammas);
    else if (!strcmp(name, "--spread-gammas"))
      rc = parse_list(name, val, o->spread_gammas, &o->n_spread);
    else if (!strcmp(name, "--anneal")) {
      if (val && !strcmp(val, "none")) {
        o->anneal_from = o->anneal_to = 0.0;
      } else {
        char buf[128];
        char *colon;
        if (!val || strlen(val) >= sizeof buf || !(colon = strchr(strcpy(buf, val), ':')))
          return fail("%s needs FROM:TO or 'none', got '%s'", name, val ? val : "");
        *colon = '\0';
        if (parse_positive(name, buf, &o->anneal_from) ||
            parse_positive(name, colon + 1, &o->anneal_to))
          return 2;
      }
    } else if (!strcmp(name, "--csv"))
      o->csv = val;
    else if (!strcmp(name, "--plot"))
      o->plot = val;
    else if (!strcmp(name, "--dump-data"))
      o->dump = val;
    else
      known = 0;
    if (!known)
      return fail("unknown option '%s'%s", name, "");
    if (rc)
      return rc;
    if (!val || !*val)
      return fail("%s needs a value%s", name, "");
  }
  if (o->z_dim > o->x_dim) {
    fprintf(stderr, "spread-ica: --z-dim (%zu) must not exceed --x-dim (%zu)\n"
                    "(see spread-ica --help)\n", o->z_dim, o->x_dim);
    return 2;
  }
  if (o->points < o->x_dim) {
    fprintf(stderr, "spread-ica: --points (%zu) must be at least --x-dim (%zu)\n"
                    "(see spread-ica --help)\n", o->points, o->x_dim);
    return 2;
  }
  if (o->n_gammas + o->n_spread == 0 && !(o->anneal_from > 0.0))
    return fail("nothing to run: --gammas, --spread-gammas and --anneal are all 'none'%s%s", "", "");
  if (!o->anneal_window_set) {
    o->anneal_start = o->iterations / 2;
    o->anneal_end = 5 * o->iterations / 6;
  }
  return 0;
}

typedef struct {
  ica_fit_config cfg;
  char label[96];
  ica_fit_record *rec;
  double *amari; /* rec[t].amari, for the plot */
} run;

typedef struct {
  const run *r;
  int quiet;
  size_t iterations;
} progress_ctx;

static void progress(void *vctx, size_t t, const ica_fit_record *rec)
{
  const progress_ctx *ctx = vctx;
  if (ctx->quiet)
    return;
  size_t every = ctx->iterations >= 100 ? 25 : 10;
  if (t == 0 || t % every == 0 || t == ctx->iterations)
    fprintf(stderr, "%-34s iter %4zu  gamma %-8.4g amari %.5f  loglik %9.4f  %6.2f s\n",
            ctx->r->label, t, rec->gamma, rec->amari, rec->loglik, rec->seconds);
}

static int write_csv(const char *path, const run *runs, size_t nruns,
                     size_t iterations)
{
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  fprintf(f, "algorithm,gamma_start,gamma_end,draws,iteration,gamma,amari,loglik,seconds\n");
  for (size_t r = 0; r < nruns; r++) {
    const ica_fit_config *c = &runs[r].cfg;
    for (size_t t = 0; t <= iterations; t++) {
      const ica_fit_record *e = &runs[r].rec[t];
      fprintf(f, "%s,%.9g,%.9g,%zu,%zu,%.9g,%.9g,%.9g,%.6f\n",
              c->algorithm == ICA_STANDARD_EM ? "standard_em" : "spread_em",
              c->gamma_start, c->gamma_end, c->algorithm == ICA_SPREAD_EM ? c->draws : 0,
              t, e->gamma, e->amari, e->loglik, e->seconds);
    }
  }
  return fclose(f) == 0 ? 0 : -1;
}

static double wall(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
  options o = {
    .x_dim = 10, .z_dim = 10, .points = 4000, .iterations = 300,
    .draws = 1, .anneal_draws = 1, .gammas = {0.1, 0.01, 0.001}, .n_gammas = 3,
    .spread_gammas = {0.5, 1.0, 2.0}, .n_spread = 3, .anneal_from = 1.0,
    .anneal_to = 0.4, .seed = 1, .threads = 1, .plot = "spread-ica.png",
  };
  int rc = parse_args(argc, argv, &o);
  if (rc)
    return rc;
  double t_start = wall();
  if (spd_set_num_threads(o.threads) != SPD_OK) {
    fprintf(stderr, "spread-ica: %s\n", spd_last_error());
    return 1;
  }

  ica_prior prior;
  ica_prior_default(&prior);
  ica_problem *p = NULL;
  ica_em *em = NULL;
  size_t nruns = o.n_gammas + o.n_spread + (o.anneal_from > 0.0);
  run *runs = calloc(nruns, sizeof *runs);
  ex_series *series = calloc(nruns, sizeof *series);
  double *a = malloc(o.x_dim * o.z_dim * sizeof *a);
  rc = 1;
  if (!runs || !series || !a) {
    fprintf(stderr, "spread-ica: out of memory\n");
    goto done;
  }
  int st = ica_problem_create(o.x_dim, o.z_dim, o.points, o.seed, &prior, &p);
  if (st != 0) {
    fprintf(stderr, "spread-ica: generating the data failed: %s (%s)\n",
            ica_strerror(st), spd_last_error());
    goto done;
  }
  if (o.dump && ica_problem_dump(p, o.dump) != 0) {
    fprintf(stderr, "spread-ica: cannot write %s: %s\n", o.dump, strerror(errno));
    goto done;
  }
  if ((st = ica_em_create(o.x_dim, o.z_dim, &prior, o.threads, &em)) != 0) {
    fprintf(stderr, "spread-ica: %s\n", ica_strerror(st));
    goto done;
  }

  size_t r = 0;
  for (size_t i = 0; i < o.n_gammas; i++, r++) {
    runs[r].cfg = (ica_fit_config){ICA_STANDARD_EM, o.gammas[i], o.gammas[i],
                                   0, 0, o.iterations, 0, o.seed, 0};
    snprintf(runs[r].label, sizeof runs[r].label, "standard EM gamma=%g", o.gammas[i]);
  }
  for (size_t i = 0; i < o.n_spread; i++, r++) {
    runs[r].cfg = (ica_fit_config){ICA_SPREAD_EM, o.spread_gammas[i],
                                   o.spread_gammas[i], 0, 0, o.iterations,
                                   o.draws, o.seed, 16 + r};
    snprintf(runs[r].label, sizeof runs[r].label, "spread EM gamma_s=%g", o.spread_gammas[i]);
  }
  if (o.anneal_from > 0.0) {
    runs[r].cfg = (ica_fit_config){ICA_SPREAD_EM, o.anneal_from, o.anneal_to,
                                   o.anneal_start, o.anneal_end, o.iterations,
                                   o.anneal_draws, o.seed, 16 + r};
    snprintf(runs[r].label, sizeof runs[r].label, "spread EM gamma_s=%g->%g",
             o.anneal_from, o.anneal_to);
  }

  if (!o.quiet)
    fprintf(stderr, "spread-ica: X=%zu Z=%zu N=%zu, %zu assignments per point, "
                    "%d thread(s), seed %llu\n", o.x_dim, o.z_dim, o.points,
            ica_em_assignments(em), o.threads, o.seed);
  double best_std = INFINITY, best_spread = INFINITY;
  for (r = 0; r < nruns; r++) {
    runs[r].rec = calloc(o.iterations + 1, sizeof *runs[r].rec);
    runs[r].amari = calloc(o.iterations + 1, sizeof *runs[r].amari);
    if (!runs[r].rec || !runs[r].amari) {
      fprintf(stderr, "spread-ica: out of memory\n");
      goto done;
    }
    memcpy(a, p->a_init, o.x_dim * o.z_dim * sizeof *a);
    progress_ctx ctx = {&runs[r], o.quiet, o.iterations};
    st = ica_fit(em, p, &runs[r].cfg, a, runs[r].rec, progress, &ctx);
    if (st != 0) {
      fprintf(stderr, "spread-ica: %s failed: %s (%s)\n", runs[r].label,
              ica_strerror(st), spd_last_error());
      goto done;
    }
    for (size_t t = 0; t <= o.iterations; t++)
      runs[r].amari[t] = runs[r].rec[t].amari;
    double fin = runs[r].rec[o.iterations].amari;
    double *best = runs[r].cfg.algorithm == ICA_STANDARD_EM ? &best_std : &best_spread;
    if (fin < *best)
      *best = fin;
    series[r] = (ex_series){runs[r].label, NULL, runs[r].amari, o.iterations + 1,
                            runs[r].cfg.algorithm == ICA_STANDARD_EM};
  }

  if (!o.quiet) {
    fprintf(stderr, "\n%-34s %10s %10s %12s\n", "run", "amari(0)", "amari(T)",
            "ms/iteration");
    for (r = 0; r < nruns; r++)
      fprintf(stderr, "%-34s %10.5f %10.5f %12.2f\n", runs[r].label,
              runs[r].rec[0].amari, runs[r].rec[o.iterations].amari,
              1e3 * runs[r].rec[o.iterations].seconds / (double)o.iterations);
  }
  if (o.csv && write_csv(o.csv, runs, nruns, o.iterations) != 0) {
    fprintf(stderr, "spread-ica: cannot write %s: %s\n", o.csv, strerror(errno));
    goto done;
  }
  if (o.plot) {
    char err[256], title[160];
    snprintf(title, sizeof title, "ICA by EM: X=%zu, Z=%zu, N=%zu, seed %llu",
             o.x_dim, o.z_dim, o.points, o.seed);
    ex_plot_style style = {title, "iteration",
                           "Amari distance to true A (log scale)", EX_SCALE_LOG, 1};
    if (ex_plot_png(o.plot, series, nruns, &style, err, sizeof err) != 0) {
      fprintf(stderr, "spread-ica: %s\n", err);
      goto done;
    }
  }
  printf("summary standard_em=%.5f spread_em=%.5f iterations=%zu seconds=%.1f\n",
         isinf(best_std) ? NAN : best_std, isinf(best_spread) ? NAN : best_spread,
         o.iterations, wall() - t_start);
  rc = 0;
done:
  if (runs)
    for (r = 0; r < nruns; r++) {
      free(runs[r].rec);
      free(runs[r].amari);
    }
  free(runs);
  free(series);
  free(a);
  ica_em_free(em);
  ica_problem_free(p);
  return rc;
}
