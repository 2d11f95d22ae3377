#include "harness.h"
Suite *spdt_suite(void) { return suite_create("golden"); }
