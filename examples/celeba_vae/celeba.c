/* CelebA loading: see celeba.h for the rules. */
#include "celeba.h"

#include "batch.h"
#include "cache.h"
#include "jpeg_io.h"
#include "resize.h"

#include <dirent.h>
#include <errno.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

enum { MAX_WARNINGS = 10 }; /* skipped files named one by one */

typedef struct {
  char *name;
  uint64_t size;
  int64_t mtime;
} entry;

typedef struct {
  entry *e;
  size_t n;
} listing;

typedef struct {
  char *name;
  int part;
} part_entry;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int join(char *buf, size_t len, const char *a, const char *b)
{
  int n = snprintf(buf, len, "%s/%s", a, b);
  return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int is_dir(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_jpeg_suffix(const char *name)
{
  const char *dot = strrchr(name, '.');
  return dot && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

static int by_name(const void *a, const void *b)
{
  return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static void listing_free(listing *l)
{
  for (size_t i = 0; i < l->n; i++)
    free(l->e[i].name);
  free(l->e);
  *l = (listing){0};
}

/* The JPEG files of dir in name order, the first max (all with 0). */
static int list_jpegs(const char *dir, size_t max, listing *l, char *err, size_t errlen)
{
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(err, errlen, "cannot open directory %s: %s", dir, strerror(errno));
    return -1;
  }
  size_t cap = 0;
  struct dirent *de;
  char path[4096];
  while ((de = readdir(d))) {
    struct stat st;
    if (de->d_name[0] == '.' || !has_jpeg_suffix(de->d_name) ||
        join(path, sizeof path, dir, de->d_name) != 0 || stat(path, &st) != 0 ||
        !S_ISREG(st.st_mode))
      continue;
    if (l->n == cap) {
      cap = cap ? 2 * cap : 1024;
      entry *e = realloc(l->e, cap * sizeof *e);
      if (!e)
        goto oom;
      l->e = e;
    }
    char *name = strdup(de->d_name);
    if (!name)
      goto oom;
    l->e[l->n++] = (entry){name, (uint64_t)st.st_size, (int64_t)st.st_mtime};
  }
  closedir(d);
  if (l->n)
    qsort(l->e, l->n, sizeof *l->e, by_name);
  while (max && l->n > max)
    free(l->e[--l->n].name);
  return 0;
oom:
  closedir(d);
  listing_free(l);
  snprintf(err, errlen, "listing %s: out of memory", dir);
  return -1;
}

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
  unsigned char b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (unsigned char)(v >> (8 * i));
  return vae_fnv1a(h, b, sizeof b);
}

/* Fingerprint of the file list and of everything that shapes the result. */
static uint64_t fingerprint(const listing *l, size_t size)
{
  static const char tag[] = "spread-vae celeba: crop 140 at (19, 39) of 178 x 218, "
                            "Lanczos-3 resize, bytes";
  uint64_t h = vae_fnv1a(VAE_FNV_INIT, tag, sizeof tag);
  h = hash_u64(h, size);
  for (size_t i = 0; i < l->n; i++) {
    h = vae_fnv1a(h, l->e[i].name, strlen(l->e[i].name) + 1);
    h = hash_u64(hash_u64(h, l->e[i].size), (uint64_t)l->e[i].mtime);
  }
  return h;
}

/* Decode, crop and resize one file into dst (3 x size x size bytes). */
static int decode_one(const char *path, size_t size, uint8_t *dst, int *odd,
                      char *err, size_t errlen)
{
  uint8_t *px = NULL;
  size_t w, h;
  if (vae_jpeg_read(path, &px, &w, &h, err, errlen) != 0)
    return -1;
  *odd = w != 178 || h != 218;
  float *tmp = malloc(3 * size * size * sizeof *tmp);
  int rc = tmp ? vae_resample(px, w, h, 3, vae_celeba_crop(w, h), size, size, tmp) : -1;
  if (rc == 0)
    vae_quantize(tmp, 3 * size * size, dst);
  else
    snprintf(err, errlen, "%s: out of memory while resizing", path);
  free(tmp);
  free(px);
  return rc;
}

/* Decode every listed file in parallel; keeps the decodable ones (in file
 * order) in *out with their file indices in *index. */
static int decode_all(const vae_celeba_options *o, const char *dir, const listing *l,
                      vae_images *out, uint32_t **index, size_t *odd_sizes,
                      char *err, size_t errlen)
{
  const size_t n = l->n, S = o->image_size;
  vae_images all = {0};
  uint8_t *ok = calloc(n, 1), *odd = calloc(n, 1);
  char **msg = calloc(n, sizeof *msg);
  uint32_t *idx = malloc(n * sizeof *idx);
  if (!ok || !odd || !msg || !idx || vae_images_alloc(&all, n, 3, S, S) != 0) {
    free(ok);
    free(odd);
    free(msg);
    free(idx);
    snprintf(err, errlen, "out of memory for %zu images of 3 x %zu x %zu", n, S, S);
    return -1;
  }
  const size_t dim = vae_images_dim(&all);
  size_t done = 0;
  double t0 = now(), last = t0;
#pragma omp parallel for schedule(dynamic, 4) num_threads(o->threads)
  for (size_t i = 0; i < n; i++) {
    char path[4096], e[4400];
    int is_odd = 0;
    if (join(path, sizeof path, dir, l->e[i].name) != 0)
      snprintf(e, sizeof e, "%.500s/%.255s: path too long", dir, l->e[i].name);
    else if (decode_one(path, S, all.px + i * dim, &is_odd, e, sizeof e) == 0)
      ok[i] = 1;
    if (!ok[i])
      msg[i] = strdup(e);
    odd[i] = (uint8_t)is_odd;
#pragma omp atomic
    done++;
    if (o->log && omp_get_thread_num() == 0 && now() - last >= 5.0) {
      size_t d;
#pragma omp atomic read
      d = done;
      last = now();
      fprintf(o->log, "spread-vae: decoded %zu of %zu images (%.0f s)\n", d, n, last - t0);
    }
  }
  size_t bad = 0, m = 0, first_bad = n;
  *odd_sizes = 0;
  for (size_t i = 0; i < n; i++) {
    if (ok[i]) {
      idx[m++] = (uint32_t)i;
      *odd_sizes += odd[i];
      continue;
    }
    if (first_bad == n)
      first_bad = i;
    if (o->log && bad < MAX_WARNINGS)
      fprintf(o->log, "spread-vae: warning: skipping %s\n",
              msg[i] ? msg[i] : l->e[i].name);
    bad++;
  }
  if (o->log && bad > MAX_WARNINGS)
    fprintf(o->log, "spread-vae: warning: ... and %zu more undecodable files skipped\n",
            bad - MAX_WARNINGS);
  int rc = 0;
  if (m == 0) {
    snprintf(err, errlen, "none of the %zu JPEG files in %s could be decoded "
             "(the first: %s)", n, dir, msg[first_bad] ? msg[first_bad] : "?");
    vae_images_free(&all);
    free(idx);
    rc = -1;
  } else {
    vae_images_compact(&all, ok);
    *out = all;
    *index = idx;
  }
  for (size_t i = 0; i < n; i++)
    free(msg[i]);
  free(msg);
  free(ok);
  free(odd);
  return rc;
}

static int by_part_name(const void *a, const void *b)
{
  return strcmp(((const part_entry *)a)->name, ((const part_entry *)b)->name);
}

static void parts_free(part_entry *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(p[i].name);
  free(p);
}

/* list_eval_partition: lines "000001.jpg 0" (or "000001.jpg,0"); lines
 * that do not parse (a CSV header) are passed over. Sorted by name. */
static int read_partition(const char *path, part_entry **out, size_t *count,
                          char *err, size_t errlen)
{
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  part_entry *p = NULL;
  size_t n = 0, cap = 0, linelen = 0;
  char *line = NULL;
  while (getline(&line, &linelen, f) > 0) {
    char *s = line + strspn(line, " \t");
    size_t len = strcspn(s, " \t,\r\n");
    char *rest = s + len;
    rest += strspn(rest, " \t,");
    if (len == 0 || rest[0] < '0' || rest[0] > '2' || strspn(rest + 1, " \t\r\n") != strlen(rest + 1))
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 1024;
      part_entry *q = realloc(p, cap * sizeof *q);
      if (!q)
        goto oom;
      p = q;
    }
    s[len] = '\0';
    if (!(p[n].name = strdup(s)))
      goto oom;
    p[n++].part = rest[0] - '0';
  }
  free(line);
  if (ferror(f)) {
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    fclose(f);
    parts_free(p, n);
    return -1;
  }
  fclose(f);
  if (n)
    qsort(p, n, sizeof *p, by_part_name);
  *out = p;
  *count = n;
  return 0;
oom:
  free(line);
  fclose(f);
  parts_free(p, n);
  snprintf(err, errlen, "reading %s: out of memory", path);
  return -1;
}

/* The partition file to use, if any: in dir, dir/Eval or the JPEG dir. */
static int find_partition(const char *dir, const char *image_dir, char *path, size_t len)
{
  const char *where[3] = {dir, NULL, image_dir};
  char eval[4096];
  if (join(eval, sizeof eval, dir, "Eval") == 0)
    where[1] = eval;
  static const char *names[2] = {"list_eval_partition.txt", "list_eval_partition.csv"};
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 2; k++) {
      struct stat st;
      if (where[i] && join(path, len, where[i], names[k]) == 0 &&
          stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return 1;
    }
  path[0] = '\0';
  return 0;
}

/* side[i] for loaded image i: 0 train, 1 held out, 2 unused. Returns 1 if
 * the partition file gave a usable split, 0 if not (side untouched), -1 on
 * error. */
static int split_by_partition(const vae_celeba_options *o, const char *path,
                              const listing *l, const uint32_t *index, size_t m,
                              uint8_t *side, char *err, size_t errlen)
{
  part_entry *p = NULL;
  size_t np = 0, count[3] = {0, 0, 0}, unlisted = 0;
  if (read_partition(path, &p, &np, err, errlen) != 0)
    return -1;
  for (size_t i = 0; i < m; i++) {
    part_entry key = {l->e[index[i]].name, 0};
    const part_entry *hit = np ? bsearch(&key, p, np, sizeof *p, by_part_name) : NULL;
    side[i] = !hit ? 2 : hit->part == 0 ? 0 : hit->part == 1 ? 1 : 2;
    if (hit)
      count[hit->part]++;
    else
      unlisted++;
  }
  parts_free(p, np);
  if (o->log && unlisted)
    fprintf(o->log, "spread-vae: warning: %zu images are not listed in %s; not used\n",
            unlisted, path);
  if (count[0] == 0 || count[1] == 0) {
    if (o->log)
      fprintf(o->log, "spread-vae: %s leaves %zu training and %zu validation images "
              "among these; using a seeded split instead\n", path, count[0], count[1]);
    return 0;
  }
  return 1;
}

int vae_celeba_load(const vae_celeba_options *o, vae_images *train,
                    vae_images *held_out, vae_celeba_info *info, char *err,
                    size_t errlen)
{
  vae_celeba_info in = {0};
  char sub[4096];
  if (!is_dir(o->dir)) {
    struct stat st;
    snprintf(err, errlen, "CelebA directory %s: %s", o->dir,
             stat(o->dir, &st) != 0 ? strerror(errno) : "not a directory");
    return -1;
  }
  if (join(sub, sizeof sub, o->dir, "img_align_celeba") == 0 && is_dir(sub))
    snprintf(in.image_dir, sizeof in.image_dir, "%s", sub);
  else
    snprintf(in.image_dir, sizeof in.image_dir, "%s", o->dir);

  listing l = {0};
  vae_images all = {0}, held = {0};
  uint32_t *index = NULL;
  uint8_t *side = NULL;
  int rc = -1;
  if (list_jpegs(in.image_dir, o->max_images, &l, err, errlen) != 0)
    return -1;
  if (l.n == 0) {
    snprintf(err, errlen, "no JPEG files (*.jpg) in %s", in.image_dir);
    goto done;
  }
  in.files = l.n;

  double t0 = now();
  vae_cache_key key = {fingerprint(&l, o->image_size), l.n, 3, o->image_size, o->image_size};
  if (o->cache_path) {
    char why[4200];
    int c = vae_cache_read(o->cache_path, &key, &all, &index, why, sizeof why);
    if (c == 0) {
      in.from_cache = 1;
      if (o->log)
        fprintf(o->log, "spread-vae: read %zu images from the cache %s\n", all.n,
                o->cache_path);
    } else if (o->log) {
      if (c < 0)
        fprintf(o->log, "spread-vae: %s; rebuilding it\n", why);
      else
        fprintf(o->log, "spread-vae: decoding %zu JPEGs into the cache %s\n", l.n,
                o->cache_path);
    }
  }
  if (!in.from_cache) {
    if (decode_all(o, in.image_dir, &l, &all, &index, &in.odd_sizes, err, errlen) != 0)
      goto done;
    in.skipped = l.n - all.n;
    if (o->log && in.odd_sizes)
      fprintf(o->log, "spread-vae: %zu images were not 178 x 218; each was cropped at "
              "the same relative place\n", in.odd_sizes);
    char why[4200];
    if (o->cache_path && vae_cache_write(o->cache_path, &key, &all, index, why, sizeof why) != 0 &&
        o->log)
      fprintf(o->log, "spread-vae: warning: %s; continuing without a cache\n", why);
  } else {
    in.skipped = l.n - all.n;
  }
  in.seconds = now() - t0;

  const size_t m = all.n;
  side = malloc(m);
  if (!side) {
    snprintf(err, errlen, "out of memory");
    goto done;
  }
  int by_file = 0;
  if (find_partition(o->dir, in.image_dir, in.partition, sizeof in.partition)) {
    by_file = split_by_partition(o, in.partition, &l, index, m, side, err, errlen);
    if (by_file < 0)
      goto done;
    if (!by_file)
      in.partition[0] = '\0';
  }
  if (!by_file) {
    size_t k = o->held_out ? o->held_out : m / 100 ? m / 100 : 1;
    if (m < 2 || k >= m) {
      snprintf(err, errlen, "%s: %zu usable images cannot be split into training and "
               "%zu held-out ones", in.image_dir, m, k);
      goto done;
    }
    if (vae_split_seeded(o->seed, m, k, side) != 0) {
      snprintf(err, errlen, "seeded split failed");
      goto done;
    }
  }
  size_t nheld = 0;
  for (size_t i = 0; i < m; i++)
    nheld += side[i] == 1;
  if (vae_images_alloc(&held, nheld, 3, o->image_size, o->image_size) != 0) {
    snprintf(err, errlen, "out of memory");
    goto done;
  }
  const size_t dim = vae_images_dim(&all);
  for (size_t i = 0, k = 0; i < m; i++)
    if (side[i] == 1)
      memcpy(held.px + k++ * dim, all.px + i * dim, dim);
  for (size_t i = 0; i < m; i++)
    side[i] = side[i] == 0; /* keep the training images */
  vae_images_compact(&all, side);
  *train = all;
  *held_out = held;
  all = (vae_images){0};
  held = (vae_images){0};
  if (info)
    *info = in;
  rc = 0;
done:
  vae_images_free(&all);
  vae_images_free(&held);
  free(index);
  free(side);
  listing_free(&l);
  return rc;
}
