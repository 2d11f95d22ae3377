/* vaeapp tests: the IDX reader, Fashion-MNIST loading, the CelebA directory
 * loader and its cache, the seeded split and the batch shuffler. Every
 * fixture is generated here (fixtures.c). */
#include "test_vaeapp.h"

#include "batch.h"
#include "cache.h"
#include "celeba.h"
#include "dataset.h"
#include "fixtures.h"
#include "idx.h"
#include "jpeg_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utime.h>

START_TEST(idx_reads_gzip_and_plain)
{
  char dir[64], gz[128], plain[128], err[512];
  vt_tempdir(dir);
  snprintf(gz, sizeof gz, "%s/a.gz", dir);
  snprintf(plain, sizeof plain, "%s/a", dir);
  ck_assert_int_eq(vae_fixture_idx(gz, VAE_IDX_IMAGES_MAGIC, 7, 28, 20, 1, 5, err, sizeof err), 0);
  ck_assert_int_eq(vae_fixture_idx(plain, VAE_IDX_IMAGES_MAGIC, 7, 28, 20, 0, 5, err, sizeof err), 0);
  size_t gz_len, plain_len;
  free(vt_read_file(gz, &gz_len));
  free(vt_read_file(plain, &plain_len));
  ck_assert_uint_eq(plain_len, 16 + 7 * 28 * 20);
  ck_assert_uint_lt(gz_len, plain_len); /* really compressed */
  vae_images a = {0}, b = {0};
  ck_assert_msg(vae_idx_read_images(gz, 0, &a, err, sizeof err) == 0, "%s", err);
  ck_assert_msg(vae_idx_read_images(plain, 0, &b, err, sizeof err) == 0, "%s", err);
  ck_assert(a.n == 7 && a.c == 1 && a.h == 28 && a.w == 20);
  ck_assert(memcmp(a.px, b.px, 7 * 28 * 20) == 0);
  vae_pixel_stats st = vae_images_stats(&a);
  ck_assert(st.min == 0.0 && st.max > 0.3 && st.mean > 0.0 && st.mean < st.max);
  vae_images_free(&b);
  ck_assert_int_eq(vae_idx_read_images(gz, 3, &b, err, sizeof err), 0); /* a limit */
  ck_assert_uint_eq(b.n, 3);
  ck_assert(memcmp(a.px, b.px, 3 * 28 * 20) == 0);
  /* Floats are the bytes over 255. */
  float f[28 * 20];
  vae_images_gather(&a, (const size_t[]){4}, 1, f);
  size_t wrong = 0;
  for (int i = 0; i < 28 * 20; i++)
    wrong += f[i] != (float)a.px[4 * 28 * 20 + i] / 255.0f;
  ck_assert_uint_eq(wrong, 0);
  vae_images_free(&a);
  vae_images_free(&b);
  vt_rmtree(dir);
}
END_TEST

START_TEST(idx_errors_name_the_file)
{
  char dir[64], path[128], err[512];
  vae_images im = {0};
  vt_tempdir(dir);
  snprintf(path, sizeof path, "%s/missing.gz", dir);
  ck_assert_int_eq(vae_idx_read_images(path, 0, &im, err, sizeof err), -1);
  vt_assert_mentions(err, path, "No such file", NULL);

  snprintf(path, sizeof path, "%s/labels", dir);
  ck_assert_int_eq(vae_fixture_idx(path, VAE_IDX_LABELS_MAGIC, 2, 28, 28, 0, 1, err, sizeof err), 0);
  ck_assert_int_eq(vae_idx_read_images(path, 0, &im, err, sizeof err), -1);
  vt_assert_mentions(err, path, "label", "0x00000801", NULL);

  snprintf(path, sizeof path, "%s/magic.gz", dir);
  ck_assert_int_eq(vae_fixture_idx(path, 0x12345678, 2, 28, 28, 1, 1, err, sizeof err), 0);
  ck_assert_int_eq(vae_idx_read_images(path, 0, &im, err, sizeof err), -1);
  vt_assert_mentions(err, path, "not an IDX image file", "0x12345678", NULL);

  snprintf(path, sizeof path, "%s/header", dir);
  vt_write_file(path, "\x00\x00\x08\x03\x00\x00\x00\x02\x00", 9);
  ck_assert_int_eq(vae_idx_read_images(path, 0, &im, err, sizeof err), -1);
  vt_assert_mentions(err, path, "truncated IDX header", "9 of 16", NULL);

  snprintf(path, sizeof path, "%s/data", dir);
  ck_assert_int_eq(vae_fixture_idx(path, VAE_IDX_IMAGES_MAGIC, 4, 28, 28, 0, 1, err, sizeof err), 0);
  vt_truncate(path, 16 + 3 * 784 + 100);
  ck_assert_int_eq(vae_idx_read_images(path, 0, &im, err, sizeof err), -1);
  vt_assert_mentions(err, path, "truncated", "4 images of 28 x 28", NULL);
  ck_assert_int_eq(vae_idx_read_images(path, 3, &im, err, sizeof err), 0); /* what is there */
  vae_images_free(&im);

  snprintf(path, sizeof path, "%s/cut.gz", dir);
  ck_assert_int_eq(vae_fixture_idx(path, VAE_IDX_IMAGES_MAGIC, 50, 28, 28, 1, 1, err, sizeof err), 0);
  size_t len;
  free(vt_read_file(path, &len));
  vt_truncate(path, len / 2);
  ck_assert_int_eq(vae_idx_read_images(path, 0, &im, err, sizeof err), -1);
  vt_assert_mentions(err, path, "truncated", NULL);

  snprintf(path, sizeof path, "%s/zero", dir);
  ck_assert_int_eq(vae_fixture_idx(path, VAE_IDX_IMAGES_MAGIC, 2, 0, 28, 0, 1, err, sizeof err), 0);
  ck_assert_int_eq(vae_idx_read_images(path, 0, &im, err, sizeof err), -1);
  vt_assert_mentions(err, path, "bad sizes", NULL);
  vt_write_file(path, "\x00\x00\x08\x03\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x1c", 16);
  ck_assert_int_eq(vae_idx_read_images(path, 0, &im, err, sizeof err), -1);
  vt_assert_mentions(err, path, "bad sizes", "65536", NULL);

  ck_assert_int_eq(vae_idx_read_images(dir, 0, &im, err, sizeof err), -1); /* a directory */
  vt_assert_mentions(err, dir, NULL);
  ck_assert_ptr_null(im.px);
  vt_rmtree(dir);
}
END_TEST

START_TEST(fashion_load_resize_and_mismatch)
{
  char dir[64], path[128], err[4096];
  vt_tempdir(dir);
  ck_assert_int_eq(vae_fixture_fashion_dir(dir, 30, 10, 3, err, sizeof err), 0);
  vae_config cfg;
  vae_config_defaults(&cfg);
  cfg.data_dir = dir;
  cfg.threads = 1;
  vae_data d;
  ck_assert_msg(vae_data_load(&cfg, &d, NULL, err, sizeof err) == 0, "%s", err);
  ck_assert(d.train.n == 30 && d.held_out.n == 10 && d.train.h == 28 && d.train.c == 1);
  ck_assert(strstr(d.train_source, "train-images-idx3-ubyte.gz"));
  vae_data_free(&d);

  cfg.image_size = 32; /* resized, both sets */
  cfg.max_images = 12;
  cfg.threads = 2;
  ck_assert_msg(vae_data_load(&cfg, &d, NULL, err, sizeof err) == 0, "%s", err);
  ck_assert(d.train.n == 12 && d.train.h == 32 && d.train.w == 32 && d.held_out.h == 32);
  vae_data_free(&d);

  /* A held-out file of another size. */
  snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
  ck_assert_int_eq(vae_fixture_idx(path, VAE_IDX_IMAGES_MAGIC, 5, 32, 32, 1, 1, err, sizeof err), 0);
  ck_assert_int_eq(vae_data_load(&cfg, &d, NULL, err, sizeof err), -1);
  vt_assert_mentions(err, "train-images-idx3-ubyte.gz", "28 x 28", path, "32 x 32", NULL);

  /* Plain files are found when the .gz ones are absent. */
  remove(path);
  snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
  ck_assert_int_eq(vae_fixture_idx(path, VAE_IDX_IMAGES_MAGIC, 5, 28, 28, 0, 1, err, sizeof err), 0);
  ck_assert_msg(vae_data_load(&cfg, &d, NULL, err, sizeof err) == 0, "%s", err);
  ck_assert(strcmp(d.held_out_source, path) == 0 && d.held_out.n == 5);
  vae_data_free(&d);

  cfg.data_dir = "/nonexistent-dir";
  ck_assert_int_eq(vae_data_load(&cfg, &d, NULL, err, sizeof err), -1);
  vt_assert_mentions(err, "/nonexistent-dir/train-images-idx3-ubyte.gz", "No such file", NULL);
  vt_rmtree(dir);
}
END_TEST

/* Write a face JPEG of w x h (channels 1 or 3) at dir/name. */
static void face_jpeg(const char *dir, const char *name, size_t w, size_t h, size_t ch,
                      float shade)
{
  char path[256], err[512];
  uint8_t *rgb = malloc(w * h * 3), *px = malloc(w * h * 3);
  float u[12];
  for (int i = 0; i < 12; i++)
    u[i] = shade;
  vae_fixture_face(rgb, w, h, u);
  for (size_t i = 0; i < w * h; i++)
    if (ch == 1)
      px[i] = rgb[3 * i + 1];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  ck_assert_msg(vae_jpeg_write(path, ch == 1 ? px : rgb, w, h, ch, 90, err, sizeof err) == 0,
                "%s", err);
  free(rgb);
  free(px);
}

/* The odd directory: 6 good faces, 2 of other sizes, 1 grayscale, 1
 * truncated, 1 text file called .jpg, plus files that are not listed. */
static void odd_directory(const char *dir)
{
  char img[128];
  snprintf(img, sizeof img, "%s/img_align_celeba", dir);
  ck_assert_int_eq(mkdir(img, 0777), 0);
  for (int i = 1; i <= 6; i++) {
    char name[32];
    snprintf(name, sizeof name, "%06d.jpg", i);
    face_jpeg(img, name, 178, 218, 3, 0.1f * (float)i);
  }
  face_jpeg(img, "000007.JPG", 200, 250, 3, 0.7f);
  face_jpeg(img, "000008.jpeg", 89, 109, 3, 0.8f);
  face_jpeg(img, "000009.jpg", 178, 218, 1, 0.9f);
  face_jpeg(img, "000010.jpg", 178, 218, 3, 0.5f);
  char path[256];
  snprintf(path, sizeof path, "%s/000010.jpg", img);
  size_t len;
  free(vt_read_file(path, &len));
  vt_truncate(path, len * 2 / 3);
  snprintf(path, sizeof path, "%s/000011.jpg", img);
  vt_write_file(path, "plain text\n", 11);
  snprintf(path, sizeof path, "%s/notes.txt", img);
  vt_write_file(path, "not an image\n", 13);
  face_jpeg(img, ".hidden.jpg", 178, 218, 3, 0.5f);
}

START_TEST(celeba_odd_directory)
{
  char dir[64], err[4096];
  vt_tempdir(dir);
  odd_directory(dir);
  FILE *log = tmpfile();
  vae_celeba_options o = {dir, 32, 0, 0, 9, 2, NULL, log};
  vae_images train, held, train1, held1;
  vae_celeba_info info;
  ck_assert_msg(vae_celeba_load(&o, &train, &held, &info, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(info.files, 11);   /* .jpg/.JPG/.jpeg, not hidden, not .txt */
  ck_assert_uint_eq(info.skipped, 2);  /* truncated, text */
  ck_assert_uint_eq(info.odd_sizes, 2); /* 200 x 250, 89 x 109 */
  ck_assert_uint_eq(held.n, 1);        /* 1% of 9, at least 1 */
  ck_assert_uint_eq(train.n, 8);
  ck_assert(train.c == 3 && train.h == 32 && train.w == 32);
  ck_assert_str_eq(info.partition, "");
  ck_assert(strstr(info.image_dir, "img_align_celeba"));
  fflush(log);
  rewind(log);
  char text[8192] = {0};
  ck_assert_uint_gt(fread(text, 1, sizeof text - 1, log), 0);
  fclose(log);
  vt_assert_mentions(text, "skipping", "000010.jpg", "Premature end", "000011.jpg",
                     "Not a JPEG", NULL);

  /* The same given the JPEG directory itself, and on one thread. */
  char img[128];
  snprintf(img, sizeof img, "%s/img_align_celeba", dir);
  vae_celeba_options o1 = {img, 32, 0, 0, 9, 1, NULL, NULL};
  ck_assert_int_eq(vae_celeba_load(&o1, &train1, &held1, &info, err, sizeof err), 0);
  ck_assert(train1.n == train.n && held1.n == held.n);
  ck_assert(memcmp(train1.px, train.px, train.n * 3 * 32 * 32) == 0);
  ck_assert(memcmp(held1.px, held.px, held.n * 3 * 32 * 32) == 0);
  /* The gray JPEG (file 9) became three equal planes: look for it. */
  int found = 0;
  for (size_t k = 0; k < train.n + held.n; k++) {
    const uint8_t *p = k < train.n ? train.px + k * 3072 : held.px + (k - train.n) * 3072;
    found += memcmp(p, p + 1024, 1024) == 0 && memcmp(p, p + 2048, 1024) == 0;
  }
  ck_assert_int_eq(found, 1);
  vae_images_free(&train1);
  vae_images_free(&held1);

  /* --held-out and --max-images. */
  vae_celeba_options o2 = {dir, 16, 6, 2, 9, 1, NULL, NULL};
  ck_assert_int_eq(vae_celeba_load(&o2, &train1, &held1, &info, err, sizeof err), 0);
  ck_assert(info.files == 6 && train1.n == 4 && held1.n == 2 && train1.h == 16);
  vae_images_free(&train1);
  vae_images_free(&held1);
  o2.held_out = 6;
  ck_assert_int_eq(vae_celeba_load(&o2, &train1, &held1, &info, err, sizeof err), -1);
  vt_assert_mentions(err, "6 usable images", NULL);
  vae_images_free(&train);
  vae_images_free(&held);
  vt_rmtree(dir);
}
END_TEST

START_TEST(celeba_directory_errors)
{
  char dir[64], err[4096], path[256];
  vt_tempdir(dir);
  vae_images train = {0}, held = {0};
  vae_celeba_options o = {dir, 16, 0, 0, 1, 1, NULL, NULL};
  ck_assert_int_eq(vae_celeba_load(&o, &train, &held, NULL, err, sizeof err), -1);
  vt_assert_mentions(err, "no JPEG files", dir, NULL);

  snprintf(path, sizeof path, "%s/bad.jpg", dir);
  vt_write_file(path, "xx", 2);
  ck_assert_int_eq(vae_celeba_load(&o, &train, &held, NULL, err, sizeof err), -1);
  vt_assert_mentions(err, "none of the 1 JPEG files", "bad.jpg", NULL);

  face_jpeg(dir, "good.jpg", 178, 218, 3, 0.3f); /* one image cannot be split */
  ck_assert_int_eq(vae_celeba_load(&o, &train, &held, NULL, err, sizeof err), -1);
  vt_assert_mentions(err, "1 usable images", NULL);

  o.dir = "/nonexistent-dir";
  ck_assert_int_eq(vae_celeba_load(&o, &train, &held, NULL, err, sizeof err), -1);
  vt_assert_mentions(err, "/nonexistent-dir", "No such file", NULL);
  o.dir = path; /* a file */
  ck_assert_int_eq(vae_celeba_load(&o, &train, &held, NULL, err, sizeof err), -1);
  vt_assert_mentions(err, path, "not a directory", NULL);
  ck_assert_ptr_null(train.px);
  ck_assert_ptr_null(held.px);
  vt_rmtree(dir);
}
END_TEST

START_TEST(celeba_partition_file)
{
  char dir[64], err[4096];
  vt_tempdir(dir);
  ck_assert_int_eq(vae_fixture_celeba_dir(dir, 20, 1, 4, err, sizeof err), 0);
  FILE *log = tmpfile();
  vae_celeba_options o = {dir, 16, 0, 0, 1, 2, NULL, log};
  vae_images train, held;
  vae_celeba_info info;
  ck_assert_msg(vae_celeba_load(&o, &train, &held, &info, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(train.n, 16); /* partition 0: 000001..000016 */
  ck_assert_uint_eq(held.n, 2);   /* partition 1: 000017, 000018; 2 unused */
  ck_assert(strstr(info.partition, "list_eval_partition.txt"));
  vae_images all, h2;
  /* The first 16 files alone (no partition file) in the same order. */
  vae_celeba_options o2 = {dir, 16, 16, 0, 1, 1, NULL, log};
  ck_assert_int_eq(vae_celeba_load(&o2, &all, &h2, &info, err, sizeof err), 0);
  /* max 16 leaves no validation images: a seeded split, said in the log */
  ck_assert_str_eq(info.partition, "");
  ck_assert(all.n == 15 && h2.n == 1);
  fflush(log);
  rewind(log);
  char text[4096] = {0};
  ck_assert_uint_gt(fread(text, 1, sizeof text - 1, log), 0);
  fclose(log);
  vt_assert_mentions(text, "seeded split", NULL);
  vae_images_free(&all);
  vae_images_free(&h2);
  vae_images_free(&train);
  vae_images_free(&held);
  vt_rmtree(dir);
}
END_TEST

/* Load dir with a cache; return the log text (free it). */
static char *load_cached(const char *dir, const char *cache, vae_images *train,
                         vae_images *held, vae_celeba_info *info)
{
  char err[4096];
  FILE *log = tmpfile();
  vae_celeba_options o = {dir, 16, 0, 0, 1, 1, cache, log};
  ck_assert_msg(vae_celeba_load(&o, train, held, info, err, sizeof err) == 0, "%s", err);
  fflush(log);
  rewind(log);
  char *text = calloc(8192, 1);
  ck_assert_uint_gt(fread(text, 1, 8191, log), 0);
  fclose(log);
  return text;
}

START_TEST(celeba_cache_round_trip_and_rebuild)
{
  char dir[64], cache[128], err[4096];
  vt_tempdir(dir);
  snprintf(cache, sizeof cache, "%s/cache.u8", dir);
  ck_assert_int_eq(vae_fixture_celeba_dir(dir, 12, 0, 4, err, sizeof err), 0);
  vae_images t0, h0, t1, h1;
  vae_celeba_info info;
  char *text = load_cached(dir, cache, &t0, &h0, &info);
  ck_assert_int_eq(info.from_cache, 0);
  vt_assert_mentions(text, "decoding 12 JPEGs into the cache", NULL);
  free(text);
  size_t len;
  free(vt_read_file(cache, &len));
  ck_assert_uint_eq(len, 56 + 12 * (4 + 3 * 16 * 16));

  text = load_cached(dir, cache, &t1, &h1, &info); /* from the cache, same data */
  ck_assert_int_eq(info.from_cache, 1);
  free(text);
  ck_assert(t1.n == t0.n && h1.n == h0.n);
  ck_assert(memcmp(t1.px, t0.px, t0.n * 768) == 0 && memcmp(h1.px, h0.px, h0.n * 768) == 0);
  vae_images_free(&t1);
  vae_images_free(&h1);

  /* Corrupt one pixel byte: the CRC catches it and the cache is rebuilt. */
  char *raw = vt_read_file(cache, &len);
  raw[len - 100] ^= 0x55;
  vt_write_file(cache, raw, len);
  free(raw);
  text = load_cached(dir, cache, &t1, &h1, &info);
  ck_assert_int_eq(info.from_cache, 0);
  vt_assert_mentions(text, cache, "corrupt (checksum", "rebuilding", NULL);
  free(text);
  ck_assert(memcmp(t1.px, t0.px, t0.n * 768) == 0);
  vae_images_free(&t1);
  vae_images_free(&h1);

  /* Truncated: the size gives it away. */
  vt_truncate(cache, len - 1);
  text = load_cached(dir, cache, &t1, &h1, &info);
  ck_assert_int_eq(info.from_cache, 0);
  vt_assert_mentions(text, "corrupt (size", NULL);
  free(text);
  vae_images_free(&t1);
  vae_images_free(&h1);

  /* A source file changed (its time): stale, rebuilt, then valid again. */
  char path[256];
  snprintf(path, sizeof path, "%s/img_align_celeba/000003.jpg", dir);
  struct utimbuf times = {1000000000, 1000000000};
  ck_assert_int_eq(utime(path, &times), 0);
  text = load_cached(dir, cache, &t1, &h1, &info);
  ck_assert_int_eq(info.from_cache, 0);
  vt_assert_mentions(text, "stale", NULL);
  free(text);
  vae_images_free(&t1);
  vae_images_free(&h1);
  text = load_cached(dir, cache, &t1, &h1, &info);
  ck_assert_int_eq(info.from_cache, 1);
  free(text);
  vae_images_free(&t1);
  vae_images_free(&h1);

  /* Not a cache at all; and an unwritable cache place only warns. */
  vt_write_file(cache, "garbage", 7);
  text = load_cached(dir, cache, &t1, &h1, &info);
  vt_assert_mentions(text, "not a spread-vae cache", NULL);
  free(text);
  vae_images_free(&t1);
  vae_images_free(&h1);
  text = load_cached(dir, "/nonexistent-dir/cache.u8", &t1, &h1, &info);
  vt_assert_mentions(text, "warning", "/nonexistent-dir/cache.u8", "without a cache", NULL);
  free(text);
  vae_images_free(&t1);
  vae_images_free(&h1);
  vae_images_free(&t0);
  vae_images_free(&h0);
  vt_rmtree(dir);
}
END_TEST

START_TEST(cache_format_checks)
{
  char dir[64], path[128], err[512];
  vt_tempdir(dir);
  snprintf(path, sizeof path, "%s/c.u8", dir);
  vae_images im, back;
  ck_assert_int_eq(vae_images_alloc(&im, 3, 1, 2, 2), 0);
  for (int i = 0; i < 12; i++)
    im.px[i] = (uint8_t)(i * 20);
  uint32_t index[3] = {0, 2, 5}, *bi = NULL;
  vae_cache_key key = {0xabcdef, 6, 1, 2, 2};
  ck_assert_int_eq(vae_cache_write(path, &key, &im, index, err, sizeof err), 0);
  ck_assert_int_eq(vae_cache_read(path, &key, &back, &bi, err, sizeof err), 0);
  ck_assert(back.n == 3 && memcmp(back.px, im.px, 12) == 0);
  ck_assert(bi[0] == 0 && bi[1] == 2 && bi[2] == 5);
  free(bi);
  vae_images_free(&back);
  size_t len;
  char *raw = vt_read_file(path, &len);
  ck_assert(memcmp(raw, "SVAECACH", 8) == 0 && raw[8] == 1 && len == 56 + 12 + 12);

  vae_cache_key other = key;
  other.fingerprint++;
  ck_assert_int_eq(vae_cache_read(path, &other, &back, &bi, err, sizeof err), -1);
  vt_assert_mentions(err, path, "stale", NULL);
  other = key;
  other.h = 3;
  ck_assert_int_eq(vae_cache_read(path, &other, &back, &bi, err, sizeof err), -1);
  vt_assert_mentions(err, "stale", NULL);

  raw[8] = 9; /* version */
  vt_write_file(path, raw, len);
  ck_assert_int_eq(vae_cache_read(path, &key, &back, &bi, err, sizeof err), -1);
  vt_assert_mentions(err, "format version 9", NULL);
  raw[8] = 1;
  raw[56 + 4] = 7; /* index 2 -> 7: the CRC (or the index check) objects */
  vt_write_file(path, raw, len);
  ck_assert_int_eq(vae_cache_read(path, &key, &back, &bi, err, sizeof err), -1);
  vt_assert_mentions(err, "corrupt", NULL);
  free(raw);

  snprintf(path, sizeof path, "%s/none.u8", dir);
  ck_assert_int_eq(vae_cache_read(path, &key, &back, &bi, err, sizeof err), 1);
  ck_assert_int_eq(vae_cache_write("/nonexistent-dir/c.u8", &key, &im, index, err, sizeof err), -1);
  vt_assert_mentions(err, "/nonexistent-dir/c.u8", NULL);
  vae_images_free(&im);
  /* FNV-1a of "a": the published test vector. */
  ck_assert(vae_fnv1a(VAE_FNV_INIT, "a", 1) == 0xaf63dc4c8601ec8cull);
  vt_rmtree(dir);
}
END_TEST

START_TEST(split_and_permutation_are_seeded)
{
  enum { N = 1000 };
  size_t *p = malloc(N * sizeof *p), *q = malloc(N * sizeof *q);
  uint8_t seen[N];
  ck_assert_int_eq(vae_permutation(7, 3, N, p), 0);
  memset(seen, 0, N);
  size_t bad = 0;
  for (int i = 0; i < N; i++)
    bad += p[i] >= N || seen[p[i]]++ != 0;
  ck_assert_uint_eq(bad, 0); /* a permutation */
  ck_assert_int_eq(vae_permutation(7, 3, N, q), 0);
  ck_assert(memcmp(p, q, N * sizeof *p) == 0);   /* deterministic */
  ck_assert_int_eq(vae_permutation(8, 3, N, q), 0);
  ck_assert(memcmp(p, q, N * sizeof *p) != 0);   /* seed matters */
  ck_assert_int_eq(vae_permutation(7, 4, N, q), 0);
  ck_assert(memcmp(p, q, N * sizeof *p) != 0);   /* stream matters */
  size_t moved = 0;
  for (int i = 0; i < N; i++)
    moved += p[i] != (size_t)i;
  ck_assert_uint_gt(moved, N * 9 / 10);
  ck_assert_int_eq(vae_permutation(1, 1, 1, q), 0);
  ck_assert_uint_eq(q[0], 0);

  uint8_t a[N], b[N];
  ck_assert_int_eq(vae_split_seeded(5, N, 37, a), 0);
  ck_assert_int_eq(vae_split_seeded(5, N, 37, b), 0);
  ck_assert(memcmp(a, b, N) == 0);
  size_t held = 0;
  for (int i = 0; i < N; i++)
    held += a[i];
  ck_assert_uint_eq(held, 37);
  ck_assert_int_eq(vae_split_seeded(5, N, 0, a), -1);
  ck_assert_int_eq(vae_split_seeded(5, N, N, a), -1);
  free(p);
  free(q);
}
END_TEST

START_TEST(shuffler_epochs_and_seek)
{
  enum { N = 103, B = 10 }; /* 10 batches per epoch, 3 items left out each */
  vae_shuffler *s, *t;
  ck_assert_int_eq(vae_shuffler_create(N, B, 42, &s), 0);
  ck_assert_uint_eq(vae_shuffler_batches_per_epoch(s), 10);
  size_t idx[B], all[3][100];
  uint64_t epoch;
  for (int e = 0; e < 3; e++) {
    uint8_t seen[N] = {0};
    for (int b = 0; b < 10; b++) {
      ck_assert_int_eq(vae_shuffler_next(s, idx, &epoch), 0);
      ck_assert_uint_eq(epoch, (uint64_t)e);
      for (int k = 0; k < B; k++) {
        ck_assert_uint_lt(idx[k], N);
        ck_assert_int_eq(seen[idx[k]]++, 0); /* no repeats within an epoch */
        all[e][b * B + k] = idx[k];
      }
    }
  }
  ck_assert_uint_eq(vae_shuffler_step(s), 30);
  ck_assert(memcmp(all[0], all[1], sizeof all[0]) != 0); /* a new order each epoch */
  /* Seeking to step 17 (epoch 1, batch 7) gives that batch, whatever came
   * before: what resuming relies on. */
  ck_assert_int_eq(vae_shuffler_create(N, B, 42, &t), 0);
  vae_shuffler_seek(t, 17);
  ck_assert_int_eq(vae_shuffler_next(t, idx, &epoch), 0);
  ck_assert_uint_eq(epoch, 1);
  ck_assert(memcmp(idx, &all[1][70], sizeof idx) == 0);
  vae_shuffler_seek(t, 0);
  ck_assert_int_eq(vae_shuffler_next(t, idx, NULL), 0);
  ck_assert(memcmp(idx, &all[0][0], sizeof idx) == 0);
  vae_shuffler_free(t);
  vae_shuffler_free(s);
  vae_shuffler_free(NULL);
  ck_assert_int_eq(vae_shuffler_create(5, 6, 1, &s), -1);
  ck_assert_int_eq(vae_shuffler_create(5, 0, 1, &s), -1);
}
END_TEST

void vt_add_data_tests(Suite *s)
{
  SPDT_ADD(s, idx_reads_gzip_and_plain, 30);
  SPDT_ADD(s, idx_errors_name_the_file, 30);
  SPDT_ADD(s, fashion_load_resize_and_mismatch, 60);
  SPDT_ADD(s, celeba_odd_directory, 60);
  SPDT_ADD(s, celeba_directory_errors, 30);
  SPDT_ADD(s, celeba_partition_file, 60);
  SPDT_ADD(s, celeba_cache_round_trip_and_rebuild, 60);
  SPDT_ADD(s, cache_format_checks, 30);
  SPDT_ADD(s, split_and_permutation_are_seeded, 30);
  SPDT_ADD(s, shuffler_epochs_and_seek, 30);
}
