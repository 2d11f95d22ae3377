/* vae-fixtures: write synthetic data sets in the real formats, to try
 * spread-vae without the real data (and for its smoke tests).
 *
 *   vae-fixtures fashion DIR [N_TRAIN [N_TEST]]   (default 1000 and 200)
 *   vae-fixtures celeba DIR [N [no-partition]]    (default 200) */
#include "fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t count(const char *s, size_t dflt)
{
  if (!s)
    return dflt;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  return *s >= '0' && *s <= '9' && !*end && v > 0 && v < 10000000 ? (size_t)v : 0;
}

int main(int argc, char **argv)
{
  char err[8192];
  if (argc >= 3 && argc <= 5 && strcmp(argv[1], "fashion") == 0) {
    size_t ntr = count(argc > 3 ? argv[3] : NULL, 1000), nte = count(argc > 4 ? argv[4] : NULL, 200);
    if (ntr && nte) {
      if (vae_fixture_fashion_dir(argv[2], ntr, nte, 1, err, sizeof err) == 0)
        return 0;
      fprintf(stderr, "vae-fixtures: %s\n", err);
      return 1;
    }
  } else if (argc >= 3 && argc <= 5 && strcmp(argv[1], "celeba") == 0) {
    size_t n = count(argc > 3 ? argv[3] : NULL, 200);
    int part = !(argc > 4 && strcmp(argv[4], "no-partition") == 0);
    if (n && (argc <= 4 || !part)) {
      if (vae_fixture_celeba_dir(argv[2], n, part, 1, err, sizeof err) == 0)
        return 0;
      fprintf(stderr, "vae-fixtures: %s\n", err);
      return 1;
    }
  }
  fprintf(stderr, "usage: vae-fixtures fashion DIR [N_TRAIN [N_TEST]]\n"
                  "       vae-fixtures celeba DIR [N [no-partition]]\n");
  return 2;
}
