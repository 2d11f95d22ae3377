#ifndef SPREADDIV_H
#define SPREADDIV_H

/**
 * @file spreaddiv.h
 * @brief libspreaddiv: spread divergences and deterministic-output generators.
 *
 * The umbrella header: includes every public header of the library.
 * Link with `pkg-config --cflags --libs spreaddiv`.
 */

#include <spreaddiv/version.h>
#include <spreaddiv/core.h>
#include <spreaddiv/rng.h>
#include <spreaddiv/spread.h>
#include <spreaddiv/fdiv.h>
#include <spreaddiv/tape.h>
#include <spreaddiv/params.h>
#include <spreaddiv/generator.h>
#include <spreaddiv/vae.h>

#endif /* SPREADDIV_H */
