/* Amari distance: see amari.h for the formula. */
#include "amari.h"
#include "linalg.h"

#include <math.h>
#include <stdlib.h>

int ica_amari(const double *a_est, const double *a_true, size_t x_dim,
              size_t z_dim, double *out)
{
  const size_t x = x_dim, z = z_dim;
  if (!a_est || !a_true || !out || z < 1 || x < z)
    return -1;
  double *ata = malloc(z * z * sizeof *ata), *inv = malloc(z * z * sizeof *inv);
  double *work = malloc(z * z * sizeof *work), *m = malloc(z * z * sizeof *m);
  double *p = malloc(z * z * sizeof *p);
  int rc = -1;
  if (!ata || !inv || !work || !m || !p)
    goto done;
  ica_dgemm(1, true, false, z, z, x, 1.0, a_est, z, a_est, z, 0.0, ata, z);
  if (ica_spd_inverse(ata, z, inv, NULL, work) != 0)
    goto done;
  /* P = (A^T A)^-1 (A^T A_true) */
  ica_dgemm(1, true, false, z, z, x, 1.0, a_est, z, a_true, z, 0.0, m, z);
  ica_dgemm(1, false, false, z, z, z, 1.0, inv, z, m, z, 0.0, p, z);
  if (z == 1) {
    *out = 0.0;
    rc = p[0] != 0.0 ? 0 : -1;
    goto done;
  }
  double rows = 0.0, cols = 0.0;
  for (size_t i = 0; i < z; i++) {
    double s = 0.0, mx = 0.0;
    for (size_t j = 0; j < z; j++) {
      double v = fabs(p[i * z + j]);
      s += v;
      mx = v > mx ? v : mx;
    }
    if (!(mx > 0.0))
      goto done;
    rows += s / mx - 1.0;
  }
  for (size_t j = 0; j < z; j++) {
    double s = 0.0, mx = 0.0;
    for (size_t i = 0; i < z; i++) {
      double v = fabs(p[i * z + j]);
      s += v;
      mx = v > mx ? v : mx;
    }
    if (!(mx > 0.0))
      goto done;
    cols += s / mx - 1.0;
  }
  *out = (rows + cols) / (2.0 * (double)z * (double)(z - 1));
  rc = 0;
done:
  free(ata);
  free(inv);
  free(work);
  free(m);
  free(p);
  return rc;
}
