/* main() for every Check suite. Tests run with one library thread unless a
 * test sets another count itself (BUILD-FACTS B4: threaded BLIS work must
 * not happen in the parent before Check forks). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

void spdt_add(Suite *s, const char *name, const TTest *test, double timeout)
{
  TCase *tc = tcase_create(name);
  tcase_add_test(tc, test);
  /* Check multiplies by CK_TIMEOUT_MULTIPLIER (the valgrind setup sets it). */
  tcase_set_timeout(tc, timeout);
  suite_add_tcase(s, tc);
}

int main(void)
{
  if (spd_set_num_threads(1) != SPD_OK) {
    fprintf(stderr, "spd_set_num_threads: %s\n", spd_last_error());
    return EXIT_FAILURE;
  }
  SRunner *sr = srunner_create(spdt_suite());
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
