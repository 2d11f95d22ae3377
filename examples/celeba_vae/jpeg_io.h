/* JPEG files through libjpeg (the libjpeg 62 API of libjpeg-turbo), with
 * its errors caught by a setjmp error manager and reported in a message
 * that names the file. libjpeg only *warns* about a truncated file (and
 * fills the rest of the image with grey) or corrupt entropy data; this
 * reader treats every warning as an error, so a damaged file is never
 * mistaken for an image. */
#ifndef VAE_JPEG_IO_H
#define VAE_JPEG_IO_H

#include <stddef.h>
#include <stdint.h>

/* Decode path to 8-bit RGB (grayscale JPEGs are converted), rows top
 * first, channels interleaved. On success *px (free() it) holds
 * *height rows of *width * 3 bytes. Returns 0, or -1 with a message naming
 * path in err (missing file, not a JPEG, truncated or corrupt data, CMYK,
 * sides above 16384). */
int vae_jpeg_read(const char *path, uint8_t **px, size_t *width,
                  size_t *height, char *err, size_t errlen);

/* Encode width x height pixels (channels 1: gray, 3: RGB, interleaved) at
 * quality 1..100 to path (used to make test fixtures and demo data).
 * Returns 0, or -1 with a message naming path in err. */
int vae_jpeg_write(const char *path, const uint8_t *px, size_t width,
                   size_t height, size_t channels, int quality, char *err,
                   size_t errlen);

#endif /* VAE_JPEG_IO_H */
