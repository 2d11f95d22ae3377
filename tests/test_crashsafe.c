/* Crash safety of checkpoint files. A forked writer saves generation after
 * generation of a checkpoint (lib/ckpt.h writer: temporary file, fsync,
 * rename, directory fsync) as fast as it can; the parent SIGKILLs it after
 * a random delay (seeded, so a failure can be replayed), then checks that
 * the file at the target path is intact, loadable, internally consistent
 * (every value derives from the generation number it holds) and not older
 * than the last generation seen. Stray temporary files are allowed (the
 * format documents them) and removed between rounds. */
#include "harness.h"

#include "ckpt.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KIND SPDI_TAG('C', 'R', 'S', 'H')
#define SEC SPDI_TAG('D', 'A', 'T', 'A')
#define N 60000 /* floats per file: 240 kB, so a save takes a while */
#define ROUNDS 100

static float payload[N];

static void fill(uint64_t gen)
{
  for (size_t i = 0; i < N; i++)
    payload[i] = (float)((gen * 2654435761u + i) % 100003);
}

static int save(const char *path, uint64_t gen)
{
  spdi_ckpt_writer *w = NULL;
  int st = spdi_ckpt_create(path, KIND, &w);
  if (st != SPD_OK)
    return st;
  const size_t dims[1] = {N};
  fill(gen);
  (void)spdi_ckpt_begin(w, SEC);
  (void)spdi_ckpt_put_u64(w, "gen", gen);
  (void)spdi_ckpt_put_f32(w, "data", 1, dims, payload);
  (void)spdi_ckpt_put_u64(w, "gen_again", gen);
  (void)spdi_ckpt_end(w);
  return spdi_ckpt_commit(w); /* the first failure is sticky */
}

/* Open and check a file; returns its generation. */
static uint64_t load(const char *path)
{
  spdi_ckpt_reader *r = NULL;
  SPDT_OK(spdi_ckpt_open(path, KIND, &r));
  uint64_t gen, gen2;
  SPDT_OK(spdi_ckpt_get_u64(r, SEC, "gen", &gen));
  SPDT_OK(spdi_ckpt_get_u64(r, SEC, "gen_again", &gen2));
  ck_assert_uint_eq(gen, gen2);
  static float back[N];
  const size_t dims[1] = {N};
  SPDT_OK(spdi_ckpt_get_f32(r, SEC, "data", 1, dims, back));
  spdi_ckpt_close(r);
  fill(gen);
  ck_assert_msg(memcmp(back, payload, sizeof back) == 0, "generation %llu: data differ",
                (unsigned long long)gen);
  return gen;
}

static uint64_t rng_state;

static uint64_t next_rand(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Remove everything but the checkpoint itself; returns how many. */
static int clean_temporaries(const char *dir)
{
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  int n = 0;
  char p[512];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
        strcmp(e->d_name, "c.ckpt") == 0)
      continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
    n++;
  }
  closedir(d);
  return n;
}

START_TEST(kill_during_saves)
{
  const char *seed_env = getenv("SPDT_CRASH_SEED");
  rng_state = seed_env ? strtoull(seed_env, NULL, 0) : 0x9e3779b97f4a7c15ull;
  if (rng_state == 0)
    rng_state = 1;
  char dir[] = "/tmp/spdt-crash-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/c.ckpt", dir);
  /* Time one save, so the kill points spread over about three saves
   * whatever the machine (or valgrind) speed. */
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  SPDT_OK(save(path, 0));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long save_us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
  if (save_us < 1000)
    save_us = 1000;

  uint64_t last = load(path), first_gen = 1;
  int strays = 0, advanced = 0;
  for (int round = 0; round < ROUNDS; round++) {
    /* Kill before the first save, inside a save (writing, fsync, rename)
     * or between saves. */
    const long delay_us = (long)(next_rand() % (uint64_t)(3 * save_us));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      for (uint64_t g = first_gen;; g++)
        if (save(path, g) != SPD_OK)
          _exit(3);
    }
    struct timespec ts = {delay_us / 1000000, (delay_us % 1000000) * 1000};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "round %d: the writer ended on its own (status %d)", round, status);
    uint64_t gen = load(path);
    ck_assert_msg(gen >= last, "round %d: generation went back from %llu to %llu", round,
                  (unsigned long long)last, (unsigned long long)gen);
    advanced += gen > last;
    last = gen;
    first_gen = gen + 1000000; /* the next writer's generations are new values */
    strays += clean_temporaries(dir);
  }
  fprintf(stderr, "crash-safety: one save %ld us; %d kills, checkpoint advanced in %d, "
          "%d stray temporaries removed\n", save_us, ROUNDS, advanced, strays);
  ck_assert_msg(advanced > 0, "no save ever completed: the test exercises nothing");
  unlink(path);
  rmdir(dir);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("crashsafe");
  SPDT_ADD(s, kill_during_saves, 60);
  return s;
}
