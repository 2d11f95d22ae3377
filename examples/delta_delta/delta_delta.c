/* delta-delta: the spread divergence between two point masses.
 *
 * p = delta(mu) and q = delta(theta) on the real line have disjoint
 * supports when theta != mu: KL and its relatives are infinite, and the
 * bounded f-divergences (Jensen-Shannon, Hellinger, total variation) are
 * constant in theta, so neither gives a gradient that moves theta to mu.
 * Spreading both with the same noise fixes that. This program prints, for
 * a Gaussian and a Laplace spread and several f, the unspread value, the
 * exact spread divergence, a Monte Carlo estimate with its standard error,
 * and both gradients in theta; then it fits theta to mu by gradient descent
 * on the spread KL and prints the trajectory.
 *
 * Uses only the public API (spreaddiv.h). */
#include <spreaddiv.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MC_DRAWS 20000 /* spread draws per point for the Monte Carlo column */
#define FIT_STEPS 30

typedef struct {
  double sigma, mu, theta;
  const char *csv;
} options;

static void usage(FILE *out)
{
  fprintf(out,
          "usage: delta-delta [--sigma S] [--mu M] [--theta T] [--csv FILE] [--help]\n"
          "\n"
          "Spread divergences between the point masses p = delta(M) and q = delta(T).\n"
          "\n"
          "  --sigma S   spread scale: Gaussian standard deviation and Laplace scale b\n"
          "              (default 1, must be > 0)\n"
          "  --mu M      position of p (default 0)\n"
          "  --theta T   position of q, and the start of the fit (default 5)\n"
          "  --csv FILE  also write the table and the fit trajectories as CSV\n"
          "  --help      show this text\n");
}

/* Parse a finite number for option `name`; 0 on success. */
static int parse_number(const char *name, const char *text, double *out)
{
  char *end;
  errno = 0;
  double v = text ? strtod(text, &end) : 0;
  if (text == NULL || end == text || *end != '\0' || errno != 0 || !isfinite(v)) {
    fprintf(stderr, "delta-delta: %s needs a finite number, got '%s'\n", name,
            text ? text : "(nothing)");
    return -1;
  }
  *out = v;
  return 0;
}

/* 0: run, 1: help shown, -1: bad arguments (message printed). */
static int parse_args(int argc, char **argv, options *o)
{
  *o = (options){ 1.0, 0.0, 5.0, NULL };
  for (int i = 1; i < argc; i += 2) { /* every option takes one value */
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 1;
    }
    int rc;
    if (strcmp(a, "--sigma") == 0)
      rc = parse_number(a, v, &o->sigma);
    else if (strcmp(a, "--mu") == 0)
      rc = parse_number(a, v, &o->mu);
    else if (strcmp(a, "--theta") == 0)
      rc = parse_number(a, v, &o->theta);
    else if (strcmp(a, "--csv") == 0) {
      rc = v ? 0 : -1;
      o->csv = v;
      if (rc)
        fprintf(stderr, "delta-delta: --csv needs a file name\n");
    } else {
      fprintf(stderr, "delta-delta: unknown argument '%s' (try --help)\n", a);
      return -1;
    }
    if (rc)
      return -1;
  }
  if (!(o->sigma > 0)) {
    fprintf(stderr, "delta-delta: --sigma must be > 0, got %g\n", o->sigma);
    return -1;
  }
  return 0;
}

/* The unspread divergence between distinct point masses: f(0) + lim f(u)/u
 * (p's mass where q is 0 and the other way round); flat means constant in
 * theta, so its gradient is 0 and useless for fitting. */
static const char *unspread(spd_fdiv_kind k)
{
  switch (k) {
  case SPD_FDIV_JENSEN_SHANNON: return "log 2 (flat)";
  case SPD_FDIV_SQUARED_HELLINGER: return "2 (flat)";
  case SPD_FDIV_TOTAL_VARIATION: return "1 (flat)";
  case SPD_FDIV_TRIANGULAR: return "2 (flat)";
  default: return "+inf";
  }
}

#define CHECK(call)                                                           \
  do {                                                                        \
    int rc_ = (call);                                                         \
    if (rc_ != SPD_OK) {                                                      \
      fprintf(stderr, "delta-delta: %s: %s\n", #call, spd_last_error());     \
      goto fail;                                                              \
    }                                                                         \
  } while (0)

static int table(const options *o, spd_spread *const spreads[2], FILE *csv)
{
  static const spd_fdiv_kind kinds[] = {
    SPD_FDIV_KL, SPD_FDIV_REVERSE_KL, SPD_FDIV_JENSEN_SHANNON, SPD_FDIV_SQUARED_HELLINGER,
    SPD_FDIV_TOTAL_VARIATION, SPD_FDIV_JEFFREYS, SPD_FDIV_TRIANGULAR,
  };
  static const char *const spread_names[2] = { "Gaussian", "Laplace" };
  const float mu = (float)o->mu, theta = (float)o->theta;
  spd_fdiv *f = NULL;
  spd_estimator *e = NULL;
  printf("p = delta(%g), q = delta(%g), spread scale %g (Gaussian sigma, Laplace b)\n\n",
         o->mu, o->theta, o->sigma);
  printf("%-9s %-18s %-13s %14s %24s %12s %12s\n", "spread", "divergence", "unspread",
         "exact spread", "Monte Carlo (+- s.e.)", "d/dtheta", "MC d/dtheta");
  for (int si = 0; si < 2; si++) {
    for (size_t ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++) {
      double exact, mc, se;
      float g_exact, g_mc;
      CHECK(spd_fdiv_create(kinds[ki], 0, &f));
      CHECK(spd_divergence_delta(f, spreads[si], &mu, &theta, &exact, &g_exact));
      CHECK(spd_estimator_create(f, spreads[si], 2024 + ki, &e));
      CHECK(spd_estimator_set_samples(e, MC_DRAWS));
      CHECK(spd_estimate(e, &mu, 1, &theta, 1, &mc, &se, &g_mc));
      const char *un = mu == theta ? "0" : unspread(kinds[ki]);
      char mcs[40];
      snprintf(mcs, sizeof mcs, "%.6g +- %.2g", mc, se);
      printf("%-9s %-18s %-13s %14.6g %24s %12.5g %12.5g\n", spread_names[si],
             spd_fdiv_kind_name(kinds[ki]), un, exact, mcs, (double)g_exact, (double)g_mc);
      if (csv)
        fprintf(csv, "table,%s,%s,,%.9g,%s,%.17g,%.17g,%.17g,%.9g,%.9g\n", spread_names[si],
                spd_fdiv_kind_name(kinds[ki]), (double)theta, un, exact, mc, se,
                (double)g_exact, (double)g_mc);
      spd_estimator_free(e);
      spd_fdiv_free(f);
      e = NULL;
      f = NULL;
    }
  }
  printf("\nThe unspread divergences are infinite, or constant in theta (gradient 0):\n"
         "no signal moves q towards p. Spread, every divergence is finite and its\n"
         "gradient points theta at mu (d/dtheta has the sign of theta - mu).\n");
  return 0;
fail:
  spd_estimator_free(e);
  spd_fdiv_free(f);
  return -1;
}

static int fit(const options *o, spd_spread *const spreads[2], FILE *csv)
{
  /* Gradient descent on the spread KL, the same step for both spreads:
   * lr = sigma^2 / 2, so the Gaussian (KL quadratic in theta - mu, gradient
   * linear) contracts by half each step, while the Laplace KL grows only
   * linearly far away: its gradient is bounded by 1/b and theta moves at
   * most sigma / 2 per step until it is within a few b of mu. */
  spd_fdiv *kl = NULL;
  const float mu = (float)o->mu;
  const double lr = 0.5 * o->sigma * o->sigma;
  float theta[2] = { (float)o->theta, (float)o->theta };
  CHECK(spd_fdiv_create(SPD_FDIV_KL, 0, &kl));
  printf("\nFitting theta to mu = %g by gradient descent on the spread KL "
         "(step %g = sigma^2/2):\n\n", o->mu, lr);
  printf("%5s | %12s %12s %12s | %12s %12s %12s\n", "step", "Gauss theta", "KL",
         "d/dtheta", "Laplace theta", "KL", "d/dtheta");
  for (int step = 0; step <= FIT_STEPS; step++) {
    double kl_v[2];
    float g[2];
    for (int si = 0; si < 2; si++)
      CHECK(spd_divergence_delta(kl, spreads[si], &mu, &theta[si], &kl_v[si], &g[si]));
    if (step < 10 || step % 5 == 0)
      printf("%5d | %12.6g %12.6g %12.6g | %12.6g %12.6g %12.6g\n", step, (double)theta[0],
             kl_v[0], (double)g[0], (double)theta[1], kl_v[1], (double)g[1]);
    for (int si = 0; csv && si < 2; si++)
      fprintf(csv, "fit,%s,KL,%d,%.9g,,%.17g,,,%.9g,\n", si ? "Laplace" : "Gaussian", step,
              (double)theta[si], kl_v[si], (double)g[si]);
    for (int si = 0; si < 2; si++)
      theta[si] -= (float)(lr * g[si]);
  }
  printf("\nGaussian: the KL grows quadratically and its gradient linearly with the\n"
         "distance, so far away the steps are large. Laplace: the KL grows linearly\n"
         "and its gradient is bounded by 1/b, so the steps are bounded too.\n");
  spd_fdiv_free(kl);
  return 0;
fail:
  spd_fdiv_free(kl);
  return -1;
}

int main(int argc, char **argv)
{
  options o;
  int rc = parse_args(argc, argv, &o);
  if (rc != 0)
    return rc > 0 ? EXIT_SUCCESS : 2;
  FILE *csv = NULL;
  if (o.csv) {
    csv = fopen(o.csv, "w");
    if (csv == NULL) {
      fprintf(stderr, "delta-delta: cannot write %s: %s\n", o.csv, strerror(errno));
      return EXIT_FAILURE;
    }
    /* table rows: exact value, Monte Carlo estimate, gradients in theta;
     * fit rows: one gradient-descent step (value = spread KL) */
    fprintf(csv, "section,spread,divergence,step,theta,unspread,value,mc,mc_se,grad,"
                 "grad_mc\n");
  }
  spd_spread *spreads[2] = { NULL, NULL };
  int status = EXIT_FAILURE;
  if (spd_spread_create_gaussian(1, o.sigma, &spreads[0]) != SPD_OK ||
      spd_spread_create_laplace(1, o.sigma, &spreads[1]) != SPD_OK) {
    fprintf(stderr, "delta-delta: %s\n", spd_last_error());
  } else if (table(&o, spreads, csv) == 0 && fit(&o, spreads, csv) == 0) {
    status = EXIT_SUCCESS;
  }
  spd_spread_free(spreads[0]);
  spd_spread_free(spreads[1]);
  if (csv && fclose(csv) != 0) {
    fprintf(stderr, "delta-delta: error writing %s\n", o.csv);
    status = EXIT_FAILURE;
  }
  return status;
}
