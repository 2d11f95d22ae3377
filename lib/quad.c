/* Adaptive 21-point Gauss-Kronrod quadrature (the QK21 rule of QUADPACK,
 * Piessens et al. 1983), globally adaptive: always bisect the interval
 * whose error estimate is largest. */
#include "quad.h"
#include "internal.h"

#include <float.h>
#include <math.h>

/* Kronrod nodes (x_gk[1], x_gk[3], ... are the 10-point Gauss nodes) and
 * weights on [-1, 1]; the last node is the centre. */
static const double xgk[11] = {
  0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
  0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
  0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
  0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
  0.294392862701460198131126603103866, 0.148874338981631210884826001129720,
  0.0,
};
static const double wgk[11] = {
  0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
  0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
  0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
  0.123491976262065851077208272859540, 0.134709217311473325928054001771707,
  0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
  0.149445554002916905664936468389821,
};
static const double wg[5] = {
  0.066671344308688137593568809893332, 0.149451349150580593145776339657697,
  0.219086362515982043995534934228163, 0.269266719309996355091226921569469,
  0.295524224714752870173892994651338,
};

#define MAX_INTERVALS 4000

typedef struct {
  double a, b;
  double res[SPDI_QUAD_MAXOUT], err[SPDI_QUAD_MAXOUT], abs[SPDI_QUAD_MAXOUT];
} interval;

static bool qk21(spdi_quad_fn f, void *ctx, int nout, interval *iv)
{
  const double c = 0.5 * (iv->a + iv->b), h = 0.5 * (iv->b - iv->a);
  double fv[21][SPDI_QUAD_MAXOUT];
  for (int j = 0; j < 10; j++) {
    if (!f(c - h * xgk[j], ctx, fv[2 * j]) || !f(c + h * xgk[j], ctx, fv[2 * j + 1]))
      return false;
  }
  if (!f(c, ctx, fv[20]))
    return false;
  for (int k = 0; k < nout; k++) {
    double rk = wgk[10] * fv[20][k], rg = 0, ra = fabs(rk);
    for (int j = 0; j < 10; j++) {
      double s = fv[2 * j][k] + fv[2 * j + 1][k];
      rk += wgk[j] * s;
      ra += wgk[j] * (fabs(fv[2 * j][k]) + fabs(fv[2 * j + 1][k]));
      if (j % 2 == 1)
        rg += wg[j / 2] * s;
    }
    if (!isfinite(rk))
      return false;
    /* QUADPACK's estimate: scale |K - G| by the integrand's variation. */
    const double mean = 0.5 * rk;
    double asc = wgk[10] * fabs(fv[20][k] - mean);
    for (int j = 0; j < 10; j++)
      asc += wgk[j] * (fabs(fv[2 * j][k] - mean) + fabs(fv[2 * j + 1][k] - mean));
    double err = fabs(rk - rg) * h;
    asc *= h;
    if (asc != 0 && err != 0) {
      double r = pow(200 * err / asc, 1.5);
      err = asc * (r < 1 ? r : 1);
    }
    double floor_err = 50 * DBL_EPSILON * ra * h;
    iv->res[k] = rk * h;
    iv->err[k] = err > floor_err ? err : floor_err;
    iv->abs[k] = ra * h;
  }
  return true;
}

int spdi_quad(spdi_quad_fn f, void *ctx, int nout, const double *breaks, size_t nbreaks,
              double rtol, double *result)
{
  interval *iv = spdi_malloc(MAX_INTERVALS * sizeof *iv);
  if (iv == NULL)
    return SPDI_QUAD_NOMEM;
  size_t n = 0;
  for (size_t i = 0; i + 1 < nbreaks; i++) {
    if (!(breaks[i + 1] > breaks[i]))
      continue;
    iv[n].a = breaks[i];
    iv[n].b = breaks[i + 1];
    if (!qk21(f, ctx, nout, &iv[n])) {
      spdi_free(iv);
      return SPDI_QUAD_EVAL;
    }
    n++;
  }
  int status = SPDI_QUAD_NOCONV;
  while (n > 0) {
    double tot_abs[SPDI_QUAD_MAXOUT] = { 0 }, tot_err[SPDI_QUAD_MAXOUT] = { 0 };
    for (size_t i = 0; i < n; i++)
      for (int k = 0; k < nout; k++) {
        tot_abs[k] += iv[i].abs[k];
        tot_err[k] += iv[i].err[k];
      }
    bool done = true;
    for (int k = 0; k < nout; k++)
      done = done && tot_err[k] <= rtol * tot_abs[k];
    if (done) {
      status = SPDI_QUAD_OK;
      break;
    }
    if (n == MAX_INTERVALS)
      break;
    /* Bisect the interval with the largest error relative to its output's
     * tolerance scale. */
    size_t worst = 0;
    double worst_score = -1;
    for (size_t i = 0; i < n; i++)
      for (int k = 0; k < nout; k++) {
        double score = tot_abs[k] > 0 ? iv[i].err[k] / tot_abs[k] : 0;
        if (score > worst_score) {
          worst_score = score;
          worst = i;
        }
      }
    interval left = iv[worst], right = iv[worst];
    double mid = 0.5 * (left.a + left.b);
    if (!(mid > left.a && mid < left.b))
      break; /* cannot split further in double precision */
    left.b = mid;
    right.a = mid;
    if (!qk21(f, ctx, nout, &left) || !qk21(f, ctx, nout, &right)) {
      status = SPDI_QUAD_EVAL;
      n = 0;
      break;
    }
    iv[worst] = left;
    iv[n++] = right;
  }
  if (status == SPDI_QUAD_OK) {
    for (int k = 0; k < nout; k++) {
      double acc = 0;
      for (size_t i = 0; i < n; i++)
        acc += iv[i].res[k];
      result[k] = acc;
    }
  }
  spdi_free(iv);
  return status;
}
