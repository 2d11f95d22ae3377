/* PNG files for the examples, through libpng with its errors caught
 * (setjmp) and reported in a message that names the file.
 *
 * Every function that can fail returns 0, or -1 with a message in err
 * (room for errlen bytes; err may be NULL when errlen is 0). */
#ifndef EX_PNG_IO_H
#define EX_PNG_IO_H

#include <stddef.h>
#include <stdint.h>

/* An 8-bit image: rows of width * channels bytes, top row first; channels
 * is 1 (gray) or 3 (RGB), interleaved. */
typedef struct {
  uint8_t *px;
  size_t width, height, channels;
} ex_png_image;

/* Write px (width x height, channels 1 or 3, as in ex_png_image) to path.
 * The file is written under a temporary name beside path and renamed over
 * it at the end, so a viewer watching path never sees half an image. */
int ex_png_write(const char *path, size_t width, size_t height,
                 size_t channels, const uint8_t *px, char *err, size_t errlen);

/* Read any PNG as 8-bit gray (gray inputs) or RGB (colour and palette
 * inputs); alpha is dropped and 16-bit samples are reduced to 8 bits. On
 * success *out owns px (free it with ex_png_image_free); on failure *out is
 * untouched. */
int ex_png_read(const char *path, ex_png_image *out, char *err, size_t errlen);

/* Free px and zero the struct; accepts NULL and an already freed image. */
void ex_png_image_free(ex_png_image *img);

#endif /* EX_PNG_IO_H */
