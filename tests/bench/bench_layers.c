/* Forward + backward time of each layer of the paper's CelebA encoder and
 * decoder (MATH.md section 5), as GFLOP/s and as a fraction of the BLIS
 * sgemm throughput measured in the same run.
 *
 * usage: bench_layers [--width W] [--batch B] [--threads T] [--reps N]
 *                     [--warmup K] [--csv] [--smoke] [--only LAYER]
 *                     [--sgemm-reps N] [--sgemm-only] [--round-trip]
 *
 * Layers (width W = widest channel count, 1024 in the paper; 64x64x3 input):
 *   enc1..enc4   conv 5x5 stride 2 pad 2 to W/8, W/4, W/2, W channels
 *                (64 -> 32 -> 16 -> 8 -> 4), batch norm (training), ReLU
 *   enc_heads    dense 16W -> 2 x 100 (mean and log sd heads as one GEMM)
 *   dec_dense    dense 100 -> 16W, ReLU (reshaped to W x 4 x 4)
 *   dec1..dec4   transposed conv 5x5 stride 2 pad 2 output pad 1 to W/2,
 *                W/4, W/8, W/16 channels (4 -> 8 -> 16 -> 32 -> 64),
 *                batch norm (training), ReLU
 *   dec_out      transposed conv 5x5 stride 1 pad 2 to 3 channels, sigmoid
 * Convolutions feeding batch norm have no bias (it would cancel); the
 * others do. Each layer's input is a bound parameter, so that no copy is
 * timed, and requires a gradient except for enc1 (the data). The loss is
 * the sum of the layer's output. Times are medians over N repetitions
 * after K warm-ups (default 2: the tape's first reset merges the blocks the
 * first step grew into one, and the second step is the first to touch that
 * block's pages, about 20 % slower than the steady state); GFLOP counts the GEMM work of forward and backward
 * (2 m n k per GEMM), nothing for batch norm and activations. */
#include "bench_time.h"
#include "gemm.h"

#include <spreaddiv.h>

#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { CONV, TCONV, DENSE };
enum post { BN_RELU, RELU, SIGMOID, NONE };

struct layer {
  const char *name;
  enum kind kind;
  size_t cin, cout, hin; /* dense: cin -> cout features, hin unused */
  int stride, pad, opad;
  enum post post;
  int input_grad;
};

static void die(const char *what, int rc)
{
  fprintf(stderr, "bench_layers: %s failed: %d (%s): %s\n", what, rc, spd_strerror(rc),
          spd_last_error());
  exit(1);
}

#define CHECK(call)                                                                          \
  do {                                                                                       \
    int rc_ = (call);                                                                        \
    if (rc_ != SPD_OK)                                                                       \
      die(#call, rc_);                                                                       \
  } while (0)

static void fill(float *x, size_t n, unsigned seed, float scale)
{
  uint64_t s = 0x9e3779b97f4a7c15u * (seed + 1);
  for (size_t i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    x[i] = scale * ((float)((s >> 40) * 0x1p-24) * 2.0f - 1.0f);
  }
}

static size_t add_param(spd_params *p, const char *name, int ndim, const size_t *shape,
                        float scale, int trainable, unsigned seed, float constant)
{
  size_t n = 1, idx;
  for (int d = 0; d < ndim; d++)
    n *= shape[d];
  float *v = malloc(n * sizeof *v);
  if (v == NULL)
    die("malloc", SPD_E_NOMEM);
  if (scale != 0)
    fill(v, n, seed, scale);
  else
    for (size_t i = 0; i < n; i++)
      v[i] = constant;
  CHECK(spd_params_add(p, name, ndim, shape, v, trainable, &idx));
  free(v);
  return idx;
}

static size_t out_hw(const struct layer *l)
{
  if (l->kind == CONV)
    return (l->hin + 2 * (size_t)l->pad - 5) / (size_t)l->stride + 1;
  return (l->hin - 1) * (size_t)l->stride + 5 + (size_t)l->opad - 2 * (size_t)l->pad;
}

static double layer_gflop(const struct layer *l, size_t batch)
{
  double fwd;
  if (l->kind == DENSE)
    fwd = 2.0 * (double)batch * (double)l->cin * (double)l->cout;
  else if (l->kind == CONV) {
    double ho = (double)out_hw(l);
    fwd = 2.0 * (double)batch * ho * ho * (double)l->cout * (double)l->cin * 25;
  } else {
    double hi = (double)l->hin;
    fwd = 2.0 * (double)batch * hi * hi * (double)l->cin * (double)l->cout * 25;
  }
  return fwd * (l->input_grad ? 3 : 2) * 1e-9;
}

struct result {
  double fwd_ms, total_ms;
};

static struct result run_layer(const struct layer *l, size_t batch, int reps, int warmup)
{
  spd_params *p = NULL;
  spd_tape *t = NULL;
  CHECK(spd_params_create(&p));
  CHECK(spd_tape_create(&t));
  const size_t ho = l->kind == DENSE ? 0 : out_hw(l);
  size_t xs[4] = { batch, l->cin, l->hin, l->hin }, ws[4], bs[1] = { l->cout };
  int xnd = l->kind == DENSE ? 2 : 4;
  size_t x = add_param(p, "x", xnd, xs, 1.0f, l->input_grad, 1, 0), w, b = 0, g = 0, be = 0;
  size_t rm = 0, rv = 0;
  if (l->kind == DENSE) {
    ws[0] = l->cout;
    ws[1] = l->cin;
    w = add_param(p, "w", 2, ws, 1.0f / (float)l->cin, 1, 2, 0);
  } else {
    ws[0] = l->kind == CONV ? l->cout : l->cin;
    ws[1] = l->kind == CONV ? l->cin : l->cout;
    ws[2] = ws[3] = 5;
    w = add_param(p, "w", 4, ws, 1.0f / (float)(l->cin * 5), 1, 2, 0);
  }
  if (l->post == BN_RELU) {
    g = add_param(p, "gamma", 1, bs, 0, 1, 0, 1.0f);
    be = add_param(p, "beta", 1, bs, 0, 1, 0, 0.0f);
    rm = add_param(p, "rm", 1, bs, 0, 0, 0, 0.0f);
    rv = add_param(p, "rv", 1, bs, 0, 0, 0, 1.0f);
  } else {
    b = add_param(p, "b", 1, bs, 0.1f, 1, 3, 0);
  }

  double *tf = malloc((size_t)reps * sizeof *tf), *tt = malloc((size_t)reps * sizeof *tt);
  for (int r = -warmup; r < reps; r++) {
    spd_params_zero_grad(p);
    spd_tape_reset(t);
    double t0 = spdb_now();
    spd_tensor *in = spd_param(t, p, x), *y;
    spd_tensor *bias = l->post == BN_RELU ? NULL : spd_param(t, p, b);
    if (l->kind == DENSE) {
      y = spd_add(t, spd_matmul_ex(t, in, spd_param(t, p, w), 0, 1), bias);
    } else if (l->kind == CONV) {
      y = spd_conv2d(t, in, spd_param(t, p, w), bias, l->stride, l->pad);
    } else {
      y = spd_conv2d_transpose(t, in, spd_param(t, p, w), bias, l->stride, l->pad, l->opad);
    }
    if (l->post == BN_RELU)
      y = spd_batch_norm_relu(t, y, spd_param(t, p, g), spd_param(t, p, be), p, rm, rv, 1,
                              0.1f, 1e-5f);
    else if (l->post == RELU)
      y = spd_relu(t, y);
    else if (l->post == SIGMOID)
      y = spd_sigmoid(t, y);
    spd_tensor *loss = spd_sum(t, y);
    double t1 = spdb_now();
    CHECK(spd_backward(t, loss));
    double t2 = spdb_now();
    if (r >= 0) {
      tf[r] = (t1 - t0) * 1e3;
      tt[r] = (t2 - t0) * 1e3;
    }
  }
  (void)ho;
  struct result res = { spdb_median(tf, (size_t)reps), spdb_median(tt, (size_t)reps) };
  free(tf);
  free(tt);
  spd_tape_free(t);
  spd_params_free(p);
  return res;
}

/* sgemm throughput on n x n x n (2048 for the figures; smaller in a smoke
 * run, which only checks that the benchmark works). */
static double sgemm_gflops(size_t n, int reps)
{
  float *a = malloc(n * n * sizeof *a), *b = malloc(n * n * sizeof *b), *c = malloc(n * n * sizeof *c);
  fill(a, n * n, 7, 1.0f);
  fill(b, n * n, 8, 1.0f);
  double *ts = malloc((size_t)reps * sizeof *ts);
  for (int r = -1; r < reps; r++) {
    double t0 = spdb_now();
    spdi_sgemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    if (r >= 0)
      ts[r] = spdb_now() - t0;
  }
  double gf = 2.0 * (double)n * n * n / spdb_median(ts, (size_t)reps) * 1e-9;
  free(a);
  free(b);
  free(c);
  free(ts);
  return gf;
}

/* Median time, in ns, for a cache line to go from one thread to another
 * and back (--round-trip; 0 where two threads cannot run). It bounds what
 * a barrier, or a read of what the other thread just wrote, costs at the
 * least. On a VM it depends on where the host places the two vCPUs: in
 * stop 31 it read 380-500 ns while the 2-thread layers that fit in cache
 * reached only 1.4 times their 1-thread speed, although two 1-thread runs
 * side by side each kept their own. */
static double round_trip_ns(void)
{
  static _Alignas(64) atomic_long flag;
  enum { TRIPS = 20000, SAMPLES = 7 };
  double ts[SAMPLES];
  for (int s = 0; s < SAMPLES; s++) {
    atomic_store(&flag, 0);
    double t0 = 0, t1 = 0;
    int team = 0;
#pragma omp parallel num_threads(2)
    {
#pragma omp single
      team = omp_get_num_threads();
      if (team == 2 && omp_get_thread_num() == 0) {
        t0 = spdb_now();
        for (long i = 0; i < TRIPS; i++) {
          atomic_store(&flag, 2 * i + 1);
          while (atomic_load(&flag) != 2 * i + 2)
            ;
        }
        t1 = spdb_now();
      } else if (team == 2) {
        for (long i = 0; i < TRIPS; i++) {
          while (atomic_load(&flag) != 2 * i + 1)
            ;
          atomic_store(&flag, 2 * i + 2);
        }
      }
    }
    if (team != 2)
      return 0.0;
    ts[s] = (t1 - t0) / TRIPS * 1e9;
  }
  return spdb_median(ts, SAMPLES);
}

/* BLIS's configuration, "+ukr512" where the library's AVX-512 micro-kernel
 * replaces its sgemm kernel (one word: compare.py splits on spaces). */
static const char *kernels(void)
{
  static char name[64];
  snprintf(name, sizeof name, "%s%s", spdi_gemm_arch(), spdi_sgemm_own_kernel() ? "+ukr512" : "");
  return name;
}

int main(int argc, char **argv)
{
  size_t width = 1024, batch = 32;
  int threads = 1, reps = 5, warmup = 2, csv = 0, sgemm_reps = 5, sgemm_only = 0, smoke = 0;
  int round_trip = 0;
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--width") == 0 && i + 1 < argc)
      width = strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
      batch = strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      threads = atoi(argv[++i]);
    else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
      warmup = atoi(argv[++i]);
    else if (strcmp(argv[i], "--sgemm-only") == 0)
      sgemm_only = 1;
    else if (strcmp(argv[i], "--round-trip") == 0)
      round_trip = 1;
    else if (strcmp(argv[i], "--sgemm-reps") == 0 && i + 1 < argc)
      sgemm_reps = atoi(argv[++i]);
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
      only = argv[++i];
    else if (strcmp(argv[i], "--csv") == 0)
      csv = 1;
    else if (strcmp(argv[i], "--smoke") == 0) {
      smoke = 1;
      width = 32;
      batch = 2;
      reps = 1;
    } else {
      fprintf(stderr, "usage: %s [--width W] [--batch B] [--threads T] [--reps N] [--warmup K] "
              "[--csv] "
              "[--smoke] [--only LAYER] [--sgemm-reps N] [--sgemm-only] [--round-trip]\n", argv[0]);
      return 2;
    }
  }
  if (width < 16 || width % 16 != 0 || batch < 2 || reps < 1 || warmup < 0) {
    fprintf(stderr, "bench_layers: width must be a multiple of 16, batch >= 2, reps >= 1, "
            "warmup >= 0\n");
    return 2;
  }
  if (round_trip) {
    printf("%.0f\n", round_trip_ns());
    return 0;
  }
  CHECK(spd_set_num_threads(threads));
  const size_t W = width, z = 100;
  const struct layer layers[] = {
    { "enc1", CONV, 3, W / 8, 64, 2, 2, 0, BN_RELU, 0 },
    { "enc2", CONV, W / 8, W / 4, 32, 2, 2, 0, BN_RELU, 1 },
    { "enc3", CONV, W / 4, W / 2, 16, 2, 2, 0, BN_RELU, 1 },
    { "enc4", CONV, W / 2, W, 8, 2, 2, 0, BN_RELU, 1 },
    { "enc_heads", DENSE, 16 * W, 2 * z, 0, 0, 0, 0, NONE, 1 },
    { "dec_dense", DENSE, z, 16 * W, 0, 0, 0, 0, RELU, 1 },
    { "dec1", TCONV, W, W / 2, 4, 2, 2, 1, BN_RELU, 1 },
    { "dec2", TCONV, W / 2, W / 4, 8, 2, 2, 1, BN_RELU, 1 },
    { "dec3", TCONV, W / 4, W / 8, 16, 2, 2, 1, BN_RELU, 1 },
    { "dec4", TCONV, W / 8, W / 16, 32, 2, 2, 1, BN_RELU, 1 },
    { "dec_out", TCONV, W / 16, 3, 64, 1, 2, 0, SIGMOID, 1 },
  };
  const int nl = (int)(sizeof layers / sizeof layers[0]);
  /* --sgemm-reps 0 skips the measurement (fractions then print as 0) */
  const double peak = sgemm_reps > 0 ? sgemm_gflops(smoke ? 256 : 2048, sgemm_reps) : 0.0;
  if (sgemm_only) {
    printf("%.2f %s\n", peak, kernels());
    return 0;
  }
  if (csv)
    printf("layer,width,batch,threads,reps,fwd_ms,total_ms,gflop,gflops,frac_sgemm,sgemm_gflops,blis\n");
  else
    printf("# width %zu, batch %zu, threads %d, median of %d, BLIS config %s\n"
           "# sgemm %d^3: %.1f GFLOP/s\n"
           "%-10s %9s %9s %8s %8s %7s\n",
           width, batch, threads, reps, kernels(), smoke ? 256 : 2048, peak, "layer", "fwd_ms", "total_ms",
           "GFLOP", "GFLOP/s", "frac");
  for (int i = 0; i < nl; i++) {
    if (only != NULL && strcmp(only, layers[i].name) != 0)
      continue;
    struct result r = run_layer(&layers[i], batch, reps, warmup);
    double gf = layer_gflop(&layers[i], batch), rate = gf / (r.total_ms * 1e-3);
    double frac = peak > 0 ? rate / peak : 0.0;
    if (csv)
      printf("%s,%zu,%zu,%d,%d,%.3f,%.3f,%.4f,%.2f,%.3f,%.2f,%s\n", layers[i].name, width, batch,
             threads, reps, r.fwd_ms, r.total_ms, gf, rate, frac, peak, kernels());
    else
      printf("%-10s %9.2f %9.2f %8.3f %8.1f %7.2f\n", layers[i].name, r.fwd_ms, r.total_ms, gf,
             rate, frac);
    fflush(stdout);
  }
  return 0;
}
