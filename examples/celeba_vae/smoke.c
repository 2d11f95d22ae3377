/* vae-smoke: smoke runs of spread-vae on generated data, for the 'examples'
 * suite: short trainings of a tiny model and their output files, resuming
 * (a run cut in two, by --steps or by SIGINT, ends in the same checkpoint
 * and sample grid, byte for byte, as one uninterrupted run), --sample, and
 * the exit statuses of bad data and command-line errors. (A C driver rather
 * than a shell script: the valgrind test setup runs it under memcheck,
 * where the shell's own leaks would fail it.)
 *
 * usage: vae-smoke SPREAD_VAE VAE_FIXTURES fashion|celeba|resume|errors */
#include "fixtures.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_ARGS = 32 };

static const char *vae, *fixtures, *what;
static char tmp[64], out_file[128], err_file[128];

/* A model small enough for valgrind: 28 x 28 images, width 16, z 4. */
#define TINY "--width", "16", "--z-dim", "4", "--batch", "10", "--threads", "1"

static void cleanup(void)
{
  if (tmp[0])
    vae_fixture_remove(tmp);
}

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  char *buf = calloc(1, 1 << 16);
  if (f && buf)
    buf[fread(buf, 1, (1 << 16) - 1, f)] = 0;
  if (f)
    fclose(f);
  return buf;
}

static void fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "smoke %s: ", what);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  char *text = slurp(err_file);
  fprintf(stderr, "\n--- stderr of the last run ---\n%s", text ? text : "");
  free(text);
  exit(1);
}

/* Start prog with args (NULL-terminated list), stdout and stderr to files. */
static pid_t spawn(const char *prog, const char *const *args)
{
  const char *argv[MAX_ARGS + 2] = {prog};
  size_t n = 1;
  for (; *args && n <= MAX_ARGS; args++)
    argv[n++] = *args;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    fail("fork: %s", strerror(errno));
  if (pid == 0) {
    int o = open(out_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
      _exit(126);
    execv(prog, (char *const *)argv);
    _exit(127);
  }
  return pid;
}

/* Its exit status (128 + signal if killed). */
static int wait_for(pid_t pid)
{
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      fail("waitpid: %s", strerror(errno));
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_argv(const char *prog, const char *const *args)
{
  return wait_for(spawn(prog, args));
}

/* expect(status, arg, ..., NULL): run spread-vae and check its status. */
static void expect(int want, ...)
{
  const char *args[MAX_ARGS + 1];
  size_t n = 0;
  va_list ap;
  va_start(ap, want);
  for (const char *a; n < MAX_ARGS && (a = va_arg(ap, const char *));)
    args[n++] = a;
  va_end(ap);
  args[n] = NULL;
  int got = run_argv(vae, args);
  if (got != want)
    fail("spread-vae %s ... exited %d, expected %d", n ? args[0] : "", got, want);
}

static void make_fixtures(const char *kind, const char *dir, const char *n1, const char *n2)
{
  const char *args[] = {kind, dir, n1, n2, NULL};
  if (run_argv(fixtures, args) != 0)
    fail("vae-fixtures %s failed", kind);
}

static void in_file(const char *path, const char *text)
{
  char *all = slurp(path);
  int found = all && strstr(all, text);
  free(all);
  if (!found)
    fail("%s lacks '%s'", path == err_file ? "stderr" : "stdout", text);
}

static void says(const char *fmt, ...)
{
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  in_file(err_file, text);
}

static void is_png(const char *dir, const char *name)
{
  char path[256], sig[8] = {0};
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f || fread(sig, 1, 8, f) != 8 || memcmp(sig, "\x89PNG\r\n\x1a\n", 8) != 0)
    fail("%s is missing or not a PNG", path);
  fclose(f);
}

static void path_in(char *buf, size_t len, const char *dir, const char *name)
{
  snprintf(buf, len, "%s/%s", dir, name);
}

static size_t count_lines(const char *path)
{
  char *all = slurp(path);
  size_t n = 0;
  for (const char *c = all; c && *c; c++)
    n += *c == '\n';
  free(all);
  return n;
}

/* Byte-for-byte equal files (checkpoints, PNGs: at most 64 KiB read). */
static void same_file(const char *dir_a, const char *dir_b, const char *name)
{
  char a[256], b[256];
  path_in(a, sizeof a, dir_a, name);
  path_in(b, sizeof b, dir_b, name);
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int same = fa && fb;
  while (same) {
    int ca = getc(fa), cb = getc(fb);
    same = ca == cb;
    if (ca == EOF)
      break;
  }
  if (fa)
    fclose(fa);
  if (fb)
    fclose(fb);
  if (!same)
    fail("%s and %s differ (or are missing)", a, b);
}

static void smoke_fashion(const char *data, const char *out)
{
  char ckpt[256], csv[256], again[256];
  make_fixtures("fashion", data, "300", "50");
  expect(0, "--data-dir", data, "--out", out, "--steps", "6", "--sample-every", "3",
         "--log-every", "2", TINY, NULL);
  says("300 training images from %s/train-images-idx3-ubyte.gz", data);
  says("50 held-out images");
  in_file(out_file, "summary steps=6 epochs=0.20 heldout_loss=");
  const char *pngs[] = {"real-train.png", "real-heldout.png", "samples.png",
                        "samples-00000003.png", "samples-00000006.png",
                        "reconstructions.png", "loss.png"};
  for (size_t i = 0; i < sizeof pngs / sizeof *pngs; i++)
    is_png(out, pngs[i]);
  path_in(csv, sizeof csv, out, "loss.csv");
  in_file(csv, "step,epoch,loss,recon,kl,sigma,images_per_s,seconds\n2,1,");
  if (count_lines(csv) != 4)
    fail("%s: %zu lines, expected a header and 3 rows", csv, count_lines(csv));
  /* --sample draws the same fixed latent batch: the same grid. */
  path_in(ckpt, sizeof ckpt, out, "checkpoint.ckpt");
  path_in(again, sizeof again, out, "again");
  expect(0, "--sample", ckpt, "--out", again, NULL);
  says("wrote %s/samples.png from %s (step 6)", again, ckpt);
  same_file(out, again, "samples.png");
}

static void smoke_celeba(const char *data, const char *out)
{
  make_fixtures("celeba", data, "30", NULL);
  expect(0, "--data", "celeba", "--data-dir", data, "--out", out, "--steps", "3",
         "--image-size", "32", "--width", "16", "--z-dim", "4", "--batch", "10",
         "--threads", "2", NULL);
  says("24 training images");
  says("3 held-out images from partition 1 (validation)");
  in_file(out_file, "summary steps=3 ");
  is_png(out, "real-train.png");
  is_png(out, "samples.png");
  is_png(out, "reconstructions.png");
  char cache[256];
  snprintf(cache, sizeof cache, "%s/spread-vae-cache-32.u8", data);
  if (access(cache, R_OK) != 0)
    fail("no cache %s", cache);
  expect(0, "--data", "celeba", "--data-dir", data, "--out", out, "--steps", "1",
         "--image-size", "32", "--width", "16", "--z-dim", "4", "--batch", "10",
         "--threads", "1", NULL);
  says("read 30 images from the cache");
}

/* Poll (up to two minutes) until path has at least `lines` lines. */
static void wait_lines(const char *path, size_t lines, pid_t pid)
{
  for (int i = 0; i < 1200 && count_lines(path) < lines; i++) {
    if (waitpid(pid, NULL, WNOHANG) != 0)
      fail("spread-vae ended before writing %zu lines to %s", lines, path);
    nanosleep(&(struct timespec){0, 100000000}, NULL);
  }
  if (count_lines(path) < lines)
    fail("%s: no %zu lines after two minutes", path, lines);
}

static void smoke_resume(const char *data, const char *out)
{
  char whole[160], split[160], sig[160], ckpt[256], csv[256], steps[32];
  snprintf(whole, sizeof whole, "%s-whole", out);
  snprintf(split, sizeof split, "%s-split", out);
  snprintf(sig, sizeof sig, "%s-sigint", out);
  make_fixtures("fashion", data, "200", "20");
  /* 8 steps at once, and 5 then 3 more: the same model and grid. */
  expect(0, "--data-dir", data, "--out", whole, "--steps", "8", TINY, NULL);
  expect(0, "--data-dir", data, "--out", split, "--steps", "5", TINY, NULL);
  path_in(ckpt, sizeof ckpt, split, "checkpoint.ckpt");
  expect(0, "--data-dir", data, "--out", split, "--steps", "8", "--resume", ckpt, TINY,
         NULL);
  says("resuming from %s at step 5", ckpt);
  same_file(whole, split, "checkpoint.ckpt");
  same_file(whole, split, "samples.png");
  path_in(csv, sizeof csv, split, "loss.csv");
  /* --log-every 10: a row at each run's last step only, 5 then 8. */
  in_file(csv, "\n5,1,");
  in_file(csv, "\n8,1,");
  if (count_lines(csv) != 3)
    fail("%s: %zu lines, expected a header and 2 rows", csv, count_lines(csv));

  /* Ctrl-C: a checkpoint, status 130, and resuming ends where a whole run
   * of as many steps does. */
  const char *args[] = {"--data-dir", data, "--out", sig, "--epochs", "1000", "--log-every",
                        "1", "--sample-every", "0", "--checkpoint-every", "0", TINY, NULL};
  pid_t pid = spawn(vae, args);
  path_in(csv, sizeof csv, sig, "loss.csv");
  wait_lines(csv, 3, pid);
  kill(pid, SIGINT);
  int st = wait_for(pid);
  if (st != 130)
    fail("spread-vae after SIGINT exited %d, expected 130", st);
  char *text = slurp(err_file);
  const char *at = text ? strstr(text, "interrupted at step ") : NULL;
  unsigned long long k = at ? strtoull(at + strlen("interrupted at step "), NULL, 10) : 0;
  free(text);
  if (k < 2)
    fail("no 'interrupted at step N' message");
  snprintf(steps, sizeof steps, "%llu", k + 3);
  path_in(ckpt, sizeof ckpt, sig, "checkpoint.ckpt");
  expect(0, "--data-dir", data, "--out", sig, "--steps", steps, "--resume", ckpt, TINY,
         NULL);
  expect(0, "--data-dir", data, "--out", whole, "--steps", steps, TINY, NULL);
  same_file(whole, sig, "checkpoint.ckpt");
}

static void smoke_errors(const char *data, const char *out)
{
  char nowhere[128], file[128], below[160], ckpt[128];
  snprintf(nowhere, sizeof nowhere, "%s/nowhere", tmp);
  expect(1, "--data-dir", nowhere, "--out", out, NULL);
  says("%s/train-images-idx3-ubyte.gz", nowhere);
  make_fixtures("fashion", data, "20", "5");
  expect(1, "--data-dir", data, "--out", out, "--batch", "50", NULL);
  says("--batch 50 is more than the 20 training images");
  snprintf(file, sizeof file, "%s/file", tmp);
  FILE *f = fopen(file, "w");
  if (!f || fputs("not a checkpoint\n", f) < 0 || fclose(f) != 0)
    fail("cannot write %s", file);
  snprintf(below, sizeof below, "%s/out", file);
  expect(1, "--data-dir", data, "--out", below, NULL);
  says("cannot create output directory %s", below);
  snprintf(ckpt, sizeof ckpt, "%s/x.ckpt", tmp);
  expect(1, "--sample", ckpt, "--out", out, NULL);
  says("cannot load checkpoint %s", ckpt);
  expect(1, "--sample", file, "--out", out, NULL);
  says("cannot load checkpoint %s", file);
  expect(1, "--data-dir", data, "--out", out, "--resume", file, TINY, NULL);
  says("cannot load checkpoint %s", file);
  expect(2, "--batch", "0", NULL);
  says("--batch needs a whole number");
  says("(see spread-vae --help)");
  expect(2, "--frobnicate", NULL);
  expect(2, "--no-spread", "--learn-spread", NULL);
  expect(2, "--data", "celeba", NULL);
  expect(2, "--anneal", "0.9,100", NULL);
  expect(0, "--help", NULL);
  in_file(out_file, "usage: spread-vae");
}

int main(int argc, char **argv)
{
  what = argc == 4 ? argv[3] : "?";
  if (argc != 4) {
    fprintf(stderr, "usage: vae-smoke SPREAD_VAE VAE_FIXTURES fashion|celeba|resume|errors\n");
    return 2;
  }
  vae = argv[1];
  fixtures = argv[2];
  strcpy(tmp, "/tmp/vae-smoke-XXXXXX");
  if (!mkdtemp(tmp)) {
    perror("vae-smoke: mkdtemp");
    return 1;
  }
  atexit(cleanup);
  snprintf(out_file, sizeof out_file, "%s/stdout", tmp);
  snprintf(err_file, sizeof err_file, "%s/stderr", tmp);
  char data[128], out[128];
  snprintf(data, sizeof data, "%s/data", tmp);
  snprintf(out, sizeof out, "%s/out/run", tmp);
  if (strcmp(what, "fashion") == 0)
    smoke_fashion(data, out);
  else if (strcmp(what, "celeba") == 0)
    smoke_celeba(data, out);
  else if (strcmp(what, "resume") == 0)
    smoke_resume(data, out);
  else if (strcmp(what, "errors") == 0)
    smoke_errors(data, out);
  else
    fail("unknown case");
  return 0;
}
