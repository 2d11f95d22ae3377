/* PNG reading and writing with libpng. libpng reports errors by calling an
 * error function that must not return; ours records the message (with the
 * file name) and longjmps back to the setjmp in the caller. Locals changed
 * after setjmp and used after the jump are volatile. */
#include "png_io.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char *path, *verb;
  char *err;
  size_t errlen;
} png_ctx;

static void on_error(png_structp png, png_const_charp msg)
{
  png_ctx *c = png_get_error_ptr(png);
  if (c->errlen)
    snprintf(c->err, c->errlen, "%s %s: %s", c->verb, c->path, msg);
  png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
  (void)png; /* warnings (say, an unknown chunk) do not stop the file */
  (void)msg;
}

int ex_png_write(const char *path, size_t width, size_t height,
                 size_t channels, const uint8_t *px, char *err, size_t errlen)
{
  if (!path || !px || width == 0 || height == 0 || width > 0x7fffffff ||
      height > 0x7fffffff || (channels != 1 && channels != 3)) {
    if (errlen)
      snprintf(err, errlen, "cannot write %s: bad image (%zu x %zu, %zu channels)",
               path ? path : "(null)", width, height, channels);
    return -1;
  }
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp) {
    if (errlen)
      snprintf(err, errlen, "cannot write %s: path too long", path);
    return -1;
  }
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    if (errlen)
      snprintf(err, errlen, "cannot open %s for writing: %s", path, strerror(errno));
    return -1;
  }
  png_ctx ctx = {path, "cannot write", err, errlen};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx,
                                            on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info) {
    png_destroy_write_struct(&png, NULL);
    fclose(f);
    remove(tmp);
    if (errlen)
      snprintf(err, errlen, "cannot write %s: libpng could not start", path);
    return -1;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    fclose(f);
    remove(tmp);
    return -1;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8,
               channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (size_t y = 0; y < height; y++)
    png_write_row(png, px + y * width * channels);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  if (fclose(f) != 0) {
    if (errlen)
      snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    remove(tmp);
    return -1;
  }
  if (rename(tmp, path) != 0) {
    if (errlen)
      snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    remove(tmp);
    return -1;
  }
  return 0;
}

int ex_png_read(const char *path, ex_png_image *out, char *err, size_t errlen)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (errlen)
      snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  png_ctx ctx = {path, "cannot read", err, errlen};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx,
                                           on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info) {
    png_destroy_read_struct(&png, NULL, NULL);
    fclose(f);
    if (errlen)
      snprintf(err, errlen, "cannot read %s: libpng could not start", path);
    return -1;
  }
  uint8_t *volatile px = NULL;
  png_bytep *volatile rows = NULL;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    free(px);
    free(rows);
    return -1;
  }
  png_init_io(png, f);
  png_read_info(png, info);
  int type = png_get_color_type(png, info);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_packing(png);
  if (type == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb(png);
  if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA)
    png_set_expand_gray_1_2_4_to_8(png);
  png_read_update_info(png, info);
  size_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  size_t ch = png_get_channels(png, info), rowbytes = png_get_rowbytes(png, info);
  if ((ch != 1 && ch != 3) || rowbytes != w * ch)
    png_error(png, "unexpected pixel layout after conversion");
  px = malloc(rowbytes * h);
  rows = malloc(h * sizeof *rows);
  if (!px || !rows)
    png_error(png, "out of memory");
  for (size_t y = 0; y < h; y++)
    rows[y] = px + y * rowbytes;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  fclose(f);
  free(rows);
  *out = (ex_png_image){px, w, h, ch};
  return 0;
}

void ex_png_image_free(ex_png_image *img)
{
  if (!img)
    return;
  free(img->px);
  *img = (ex_png_image){0};
}
