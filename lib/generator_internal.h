/* Private layout of spd_generator, shared by generator.c (construction,
 * forward passes), generator_io.c (files) and the VAE modules. */
#ifndef SPDI_GENERATOR_INTERNAL_H
#define SPDI_GENERATOR_INTERNAL_H

#include "ckpt.h"
#include "nn.h"

#define SPDI_GEN_MAX_UP 4 /* upsampling stages of the conv decoder (64 x 64) */

/* What fixes a generator's architecture (and, with the seed, its weights). */
typedef struct {
  int kind;
  size_t z_dim, x_dim;
  size_t hidden, depth;     /* MLP */
  int out_act;              /* MLP */
  size_t channels, image_size, width; /* conv */
} spdi_gen_config;

struct spd_generator {
  spdi_gen_config cfg;
  size_t start, nup;        /* conv: first map side (4 or 7), upsampling stages */
  float bn_momentum;
  spd_params *params;
  spdi_mlp mlp;             /* MLP hidden layers */
  spdi_dense head;          /* linear: A; MLP: output layer; conv: z -> map */
  spdi_conv up[SPDI_GEN_MAX_UP];
  spdi_bn bn[SPDI_GEN_MAX_UP];
  spdi_conv out;            /* conv: final stride-1 transposed conv */
  spd_tape *tape;           /* decode()'s work tape, created on first use */
};

/* Validate a configuration and build a generator from it. */
int spdi_generator_build(const spdi_gen_config *cfg, uint64_t seed, spd_generator **out);

/* Does the architecture use batch norm (needs >= 2 rows in training)? */
int spdi_generator_has_bn(const spd_generator *g);

/* Sections GCFG (configuration) and GPAR (parameters) of a checkpoint. */
int spdi_generator_write(spdi_ckpt_writer *w, const spd_generator *g);
int spdi_generator_read(spdi_ckpt_reader *r, const char *path, spd_generator **out);

/* Write / read every entry of a store as named f32 arrays of one section;
 * reading requires exactly the store's shapes (SPD_E_FORMAT otherwise). */
int spdi_params_write(spdi_ckpt_writer *w, uint32_t tag, const spd_params *p);
int spdi_params_read(spdi_ckpt_reader *r, uint32_t tag, spd_params *p);

#endif /* SPDI_GENERATOR_INTERNAL_H */
