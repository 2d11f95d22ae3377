/* libjpeg decode and encode. libjpeg reports a fatal error by calling
 * error_exit, which must not return: ours formats the message and longjmps
 * back to the setjmp in the caller. Locals changed after setjmp and used
 * after the jump are volatile. */
#include "jpeg_io.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} error_mgr;

static void on_error(j_common_ptr cinfo)
{
  error_mgr *e = (error_mgr *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, e->msg);
  longjmp(e->jump, 1);
}

/* Level -1 is a warning (corrupt data, premature end of file): fatal here.
 * Levels >= 0 are trace messages: ignored. */
static void on_message(j_common_ptr cinfo, int level)
{
  if (level < 0)
    on_error(cinfo);
}

static void errors_init(error_mgr *e)
{
  jpeg_std_error(&e->pub);
  e->pub.error_exit = on_error;
  e->pub.emit_message = on_message;
  e->msg[0] = '\0';
}

int vae_jpeg_read(const char *path, uint8_t **px, size_t *width,
                  size_t *height, char *err, size_t errlen)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  struct jpeg_decompress_struct cinfo;
  error_mgr jerr;
  errors_init(&jerr);
  cinfo.err = &jerr.pub;
  uint8_t *volatile buf = NULL;
  if (setjmp(jerr.jump)) {
    snprintf(err, errlen, "%s: %s", path, jerr.msg);
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    free(buf);
    return -1;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, f);
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    snprintf(jerr.msg, sizeof jerr.msg, "CMYK JPEGs are not supported");
    longjmp(jerr.jump, 1);
  }
  if (cinfo.image_width > 16384 || cinfo.image_height > 16384) {
    snprintf(jerr.msg, sizeof jerr.msg, "image too large (%u x %u)",
             (unsigned)cinfo.image_width, (unsigned)cinfo.image_height);
    longjmp(jerr.jump, 1);
  }
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  size_t w = cinfo.output_width, h = cinfo.output_height;
  if (cinfo.output_components != 3) {
    snprintf(jerr.msg, sizeof jerr.msg, "unexpected %d colour components",
             cinfo.output_components);
    longjmp(jerr.jump, 1);
  }
  buf = malloc(w * h * 3);
  if (!buf) {
    snprintf(jerr.msg, sizeof jerr.msg, "out of memory for %zu x %zu pixels", w, h);
    longjmp(jerr.jump, 1);
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = buf + (size_t)cinfo.output_scanline * w * 3;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  fclose(f);
  *px = buf;
  *width = w;
  *height = h;
  return 0;
}

int vae_jpeg_write(const char *path, const uint8_t *px, size_t width,
                   size_t height, size_t channels, int quality, char *err,
                   size_t errlen)
{
  if (!px || width == 0 || height == 0 || width > 65500 || height > 65500 ||
      (channels != 1 && channels != 3) || quality < 1 || quality > 100) {
    snprintf(err, errlen, "cannot write %s: bad image (%zu x %zu, %zu channels, "
             "quality %d)", path, width, height, channels, quality);
    return -1;
  }
  FILE *f = fopen(path, "wb");
  if (!f) {
    snprintf(err, errlen, "cannot open %s for writing: %s", path, strerror(errno));
    return -1;
  }
  struct jpeg_compress_struct cinfo;
  error_mgr jerr;
  errors_init(&jerr);
  cinfo.err = &jerr.pub;
  if (setjmp(jerr.jump)) {
    snprintf(err, errlen, "cannot write %s: %s", path, jerr.msg);
    jpeg_destroy_compress(&cinfo);
    fclose(f);
    return -1;
  }
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, f);
  cinfo.image_width = (JDIMENSION)width;
  cinfo.image_height = (JDIMENSION)height;
  cinfo.input_components = (int)channels;
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = (JSAMPROW)(px + (size_t)cinfo.next_scanline * width * channels);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  if (fclose(f) != 0) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}
