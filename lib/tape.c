/* The tape: arena, sticky errors, node creation and the backward pass. */
#include "tape_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* An arena block: this header, padded to one cache line, then the data. */
struct chunk {
  struct chunk *next;
  size_t size; /* bytes of data */
  size_t used;
};
#define CHUNK_HEADER SPDI_ALIGN
#define CHUNK_MIN ((size_t)1 << 20)

struct spd_tape {
  struct chunk *first, *cur;
  size_t chunk_bytes;   /* sum of chunk sizes */
  size_t peak;          /* largest bytes used by one step so far */
  size_t limit;         /* 0: none */
  void *scratch;
  size_t scratch_size;
  spd_tensor *last;     /* most recent node */
  size_t nodes;
  uint64_t mark;        /* backward pass counter */
  const char *op_name;  /* builder running now, for messages */
  int status;
  char msg[512];
};

_Static_assert(sizeof(struct chunk) <= CHUNK_HEADER, "chunk header fits its line");

static size_t round_up(size_t n)
{
  return (n + SPDI_ALIGN - 1) & ~(size_t)(SPDI_ALIGN - 1);
}

static unsigned char *chunk_data(struct chunk *c)
{
  return (unsigned char *)c + CHUNK_HEADER;
}

static size_t held_bytes(const spd_tape *t)
{
  return t->chunk_bytes + t->scratch_size;
}

static bool within_limit(const spd_tape *t, size_t extra)
{
  return t->limit == 0 || (extra <= t->limit && held_bytes(t) <= t->limit - extra);
}

static struct chunk *chunk_new(spd_tape *t, size_t size)
{
  if (size > SIZE_MAX - CHUNK_HEADER || !within_limit(t, size))
    return NULL;
  struct chunk *c = spdi_malloc(CHUNK_HEADER + size);
  if (c == NULL)
    return NULL;
  c->next = NULL;
  c->size = size;
  c->used = 0;
  t->chunk_bytes += size;
  return c;
}

static void chunks_free(spd_tape *t)
{
  for (struct chunk *c = t->first, *next; c != NULL; c = next) {
    next = c->next;
    spdi_free(c);
  }
  t->first = t->cur = NULL;
  t->chunk_bytes = 0;
}

static size_t used_bytes(const spd_tape *t)
{
  size_t used = 0;
  for (const struct chunk *c = t->first; c != NULL; c = c->next) {
    used += c->used;
    if (c == t->cur)
      break;
  }
  return used;
}

int spdi_tape_fail(spd_tape *t, int code, const char *fmt, ...)
{
  if (t->status != SPD_OK)
    return code; /* keep the first error */
  char buf[448];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  spdi_set_error(code, t->op_name ? t->op_name : "spd_tape", "%s", buf);
  snprintf(t->msg, sizeof t->msg, "%s", spd_last_error());
  t->status = code;
  return code;
}

void *spdi_tape_alloc(spd_tape *t, size_t bytes)
{
  if (bytes > SIZE_MAX - SPDI_ALIGN) {
    spdi_tape_fail(t, SPD_E_OVERFLOW, "allocation of %zu bytes overflows", bytes);
    return NULL;
  }
  bytes = round_up(bytes == 0 ? 1 : bytes);
  struct chunk *c = t->cur;
  if (c != NULL && c->size - c->used >= bytes) {
    void *p = chunk_data(c) + c->used;
    c->used += bytes;
    return p;
  }
  /* Move on to the next block kept from earlier steps, or insert a new one
   * that at least doubles the arena (few blocks, consolidated at reset). */
  struct chunk *next = c != NULL ? c->next : t->first;
  if (next == NULL || next->size < bytes) {
    size_t size = bytes > CHUNK_MIN ? bytes : CHUNK_MIN;
    if (t->chunk_bytes > size && t->chunk_bytes <= SIZE_MAX / 2)
      size = t->chunk_bytes;
    struct chunk *fresh = chunk_new(t, size);
    if (fresh == NULL && size > bytes)
      fresh = chunk_new(t, bytes);
    if (fresh == NULL) {
      spdi_tape_fail(t, SPD_E_NOMEM, "cannot allocate %zu bytes (tape holds %zu, limit %zu)",
                     bytes, held_bytes(t), t->limit);
      return NULL;
    }
    fresh->next = next;
    if (c != NULL)
      c->next = fresh;
    else
      t->first = fresh;
    next = fresh;
  }
  next->used = bytes;
  t->cur = next;
  return chunk_data(next);
}

void *spdi_tape_scratch(spd_tape *t, size_t bytes)
{
  bytes = round_up(bytes == 0 ? 1 : bytes);
  if (bytes <= t->scratch_size)
    return t->scratch;
  spdi_free(t->scratch);
  t->scratch = NULL;
  t->scratch_size = 0;
  if (within_limit(t, bytes))
    t->scratch = spdi_malloc(bytes);
  if (t->scratch == NULL) {
    spdi_tape_fail(t, SPD_E_NOMEM, "cannot allocate %zu bytes of scratch (tape holds %zu, limit %zu)",
                   bytes, held_bytes(t), t->limit);
    return NULL;
  }
  t->scratch_size = bytes;
  return t->scratch;
}

const char *spdi_shape_str(const spd_tensor *x, char buf[64])
{
  int len = snprintf(buf, 64, "[");
  for (int d = 0; d < x->ndim && len > 0 && len < 64; d++)
    len += snprintf(buf + len, 64 - (size_t)len, d ? ", %zu" : "%zu", x->shape[d]);
  if (len > 0 && len < 63)
    snprintf(buf + len, 64 - (size_t)len, "]");
  return buf;
}

/* ---- public: the tape ---------------------------------------------------- */

int spd_tape_create(spd_tape **out)
{
  if (out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "out is NULL");
  spd_tape *t = spdi_calloc(1, sizeof *t);
  if (t == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate a tape");
  snprintf(t->msg, sizeof t->msg, "no error");
  *out = t;
  return SPD_OK;
}

void spd_tape_free(spd_tape *t)
{
  if (t == NULL)
    return;
  chunks_free(t);
  spdi_free(t->scratch);
  spdi_free(t);
}

void spd_tape_reset(spd_tape *t)
{
  if (t == NULL)
    return;
  size_t used = used_bytes(t);
  if (used > t->peak)
    t->peak = used;
  /* A step that spilled into several blocks leaves one block as large as
   * the largest step, so that the next such step needs no allocation. Free
   * first: holding both would double the footprint (and break a limit). */
  if (t->first != NULL && t->first->next != NULL) {
    chunks_free(t);
    t->first = chunk_new(t, t->peak);
  }
  for (struct chunk *c = t->first; c != NULL; c = c->next)
    c->used = 0;
  t->cur = NULL;
  t->last = NULL;
  t->nodes = 0;
  t->status = SPD_OK;
  t->op_name = NULL;
  snprintf(t->msg, sizeof t->msg, "no error");
}

int spd_tape_status(const spd_tape *t)
{
  if (t == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "tape is NULL");
  return t->status;
}

const char *spd_tape_error(const spd_tape *t)
{
  return t == NULL ? "spd_tape_error: tape is NULL" : t->msg;
}

int spd_tape_reserve(spd_tape *t, size_t bytes)
{
  if (t == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "tape is NULL");
  if (t->nodes != 0 || t->cur != NULL)
    return SPDI_FAIL(SPD_E_STATE, "the tape holds %zu nodes; reserve right after "
                     "create or reset", t->nodes);
  if (bytes == 0 || (t->first != NULL && t->first->size >= bytes))
    return SPD_OK;
  if (bytes > SIZE_MAX - SPDI_ALIGN)
    return SPDI_FAIL(SPD_E_OVERFLOW, "%zu bytes is too large", bytes);
  chunks_free(t);
  t->first = chunk_new(t, round_up(bytes));
  if (t->first == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate %zu bytes (limit %zu)", bytes, t->limit);
  if (t->peak < t->first->size)
    t->peak = t->first->size;
  return SPD_OK;
}

int spd_tape_set_limit(spd_tape *t, size_t max_bytes)
{
  if (t == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "tape is NULL");
  t->limit = max_bytes;
  return SPD_OK;
}

size_t spd_tape_bytes_used(const spd_tape *t)
{
  return t == NULL ? 0 : used_bytes(t);
}

size_t spd_tape_bytes_reserved(const spd_tape *t)
{
  return t == NULL ? 0 : held_bytes(t);
}

size_t spd_tape_node_count(const spd_tape *t)
{
  return t == NULL ? 0 : t->nodes;
}

/* ---- nodes --------------------------------------------------------------- */

spd_tensor *spdi_node(spd_tape *t, enum spdi_op op, int nin, spd_tensor *const *in,
                      const struct spdi_args *args)
{
  const struct spdi_op_info *info = &spdi_ops[op];
  if (t == NULL) {
    spdi_set_error(SPD_E_INVALID, info->name, "tape is NULL");
    return NULL;
  }
  if (t->status != SPD_OK)
    return NULL;
  t->op_name = info->name;
  for (int i = 0; i < nin; i++) {
    if (in[i] == NULL) {
      spdi_tape_fail(t, SPD_E_INVALID, "input %d is NULL", i + 1);
      return NULL;
    }
    if (in[i]->tape != t) {
      spdi_tape_fail(t, SPD_E_INVALID, "input %d belongs to another tape", i + 1);
      return NULL;
    }
  }
  spd_tensor *y = spdi_tape_alloc(t, sizeof *y);
  if (y == NULL)
    return NULL;
  memset(y, 0, sizeof *y);
  if (nin > 0) {
    y->in = spdi_tape_alloc(t, (size_t)nin * sizeof *y->in);
    if (y->in == NULL)
      return NULL;
    memcpy(y->in, in, (size_t)nin * sizeof *y->in);
  }
  y->tape = t;
  y->op = (uint16_t)op;
  y->nin = (uint8_t)nin;
  y->index = (uint32_t)t->nodes;
  if (args != NULL) {
    memcpy(y->iarg, args->i, sizeof y->iarg);
    memcpy(y->farg, args->f, sizeof y->farg);
    y->ptr = args->ptr;
    y->cptr[0] = args->cptr[0];
    y->cptr[1] = args->cptr[1];
  }
  if (info->fn(t, y, SPDI_SHAPE) != SPD_OK)
    return NULL;
  size_t n = 1;
  for (int d = 0; d < y->ndim; d++)
    if (!spdi_size_mul(n, y->shape[d], &n) || n > SIZE_MAX / sizeof(float)) {
      char s[64];
      spdi_tape_fail(t, SPD_E_OVERFLOW, "result shape %s is too large", spdi_shape_str(y, s));
      return NULL;
    }
  y->n = n;
  if (y->data == NULL && (y->data = spdi_tape_alloc(t, n * sizeof(float))) == NULL)
    return NULL;
  if (info->differentiable)
    for (int i = 0; i < nin; i++)
      y->requires_grad |= in[i]->requires_grad;
  if (info->fn(t, y, SPDI_FORWARD) != SPD_OK)
    return NULL;
  y->cptr[0] = y->cptr[1] = NULL;
  y->prev = t->last;
  t->last = y;
  t->nodes++;
  return y;
}

/* x[0..n) = 0, on the library's threads when n is large: the gradients
 * of a convolution layer's activations are megabytes, and zeroing them on
 * one thread left the others waiting. */
static void zero_floats(float *x, size_t n)
{
  if (n < 8 * (size_t)SPDI_PAR_MIN || spdi_threads() < 2) {
    memset(x, 0, n * sizeof *x);
    return;
  }
  const size_t chunk = (size_t)SPDI_PAR_MIN;
  const size_t nchunks = (n + chunk - 1) / chunk;
#pragma omp parallel for num_threads(spdi_threads()) schedule(static)
  for (size_t c = 0; c < nchunks; c++) {
    const size_t lo = c * chunk, len = n - lo < chunk ? n - lo : chunk;
    memset(x + lo, 0, len * sizeof *x);
  }
}

void spdi_grad_fill(spd_tensor *x)
{
  float *gx = x->grad;
  const float v = x->grad_const;
  SPDI_FOR(x->n, gx[i] = v);
  x->grad_uniform = false;
}

static void zero_pending(spd_tensor *x)
{
  if (x->grad_pending) {
    zero_floats(x->grad, x->n);
    x->grad_pending = false;
  }
}

void spdi_grad_materialize(spd_tensor *x)
{
  zero_pending(x);
  if (x->grad_uniform)
    spdi_grad_fill(x);
  if (x->grad_deferred != NULL)
    spdi_grad_undefer(x);
}

int spd_backward(spd_tape *t, spd_tensor *loss)
{
  if (t == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "tape is NULL");
  if (t->status != SPD_OK) {
    /* The thread's message may have been overwritten since. */
    spdi_set_error(t->status, "spd_backward", "the tape holds an error: %s", t->msg);
    return t->status;
  }
  t->op_name = "spd_backward";
  if (loss == NULL)
    return spdi_tape_fail(t, SPD_E_INVALID, "loss is NULL");
  if (loss->tape != t)
    return spdi_tape_fail(t, SPD_E_INVALID, "loss belongs to another tape");
  if (loss->n != 1) {
    char s[64];
    return spdi_tape_fail(t, SPD_E_SHAPE, "loss has shape %s; one element is needed",
                          spdi_shape_str(loss, s));
  }
  /* Pass 1, newest first: give every tensor that needs one a gradient,
   * pending (logically zero: the first op to write it assigns, see
   * spdi_grad_first), and mark the nodes the loss depends on (inputs are
   * always older than their node, so marks are set before the walk
   * reaches them). */
  uint64_t mark = ++t->mark;
  if (loss->requires_grad)
    loss->mark = mark;
  int rc = SPD_OK;
  for (spd_tensor *y = loss; y != NULL; y = y->prev) {
    if (!y->requires_grad)
      continue;
    if (!y->grad_external) {
      if (y->grad == NULL && (y->grad = spdi_tape_alloc(t, y->n * sizeof(float))) == NULL) {
        rc = t->status;
        break;
      }
      y->grad_pending = true;
      y->grad_uniform = false;
      y->grad_deferred = NULL;
    }
    if (y->mark == mark)
      for (int i = 0; i < y->nin; i++)
        if (y->in[i]->requires_grad)
          y->in[i]->mark = mark;
  }
  if (rc == SPD_OK && loss->requires_grad) {
    loss->grad[0] = (spdi_grad_first(loss) ? 0.0f : loss->grad[0]) + 1.0f;
    for (spd_tensor *y = loss; y != NULL; y = y->prev) {
      if (y->mark != mark || y->nin == 0)
        continue;
      /* marked, but no consumer wrote it; or uniform or deferred, for an
       * op that needs it written */
      const struct spdi_op_info *op = &spdi_ops[y->op];
      if (!(y->grad_uniform && op->reads_uniform) &&
          !(y->grad_deferred != NULL && op->reads_deferred))
        spdi_grad_materialize(y);
      if (!op->assigns)
        for (int i = 0; i < y->nin; i++)
          spdi_grad_materialize(y->in[i]);
      t->op_name = op->name;
      if (op->fn(t, y, SPDI_BACKWARD) != SPD_OK) {
        rc = t->status;
        break;
      }
    }
  }
  /* Whatever is still pending (off the loss's path, or left by an error)
   * reads as zero, as every gradient did before the pass. A uniform
   * gradient (the input of a sum or mean) is written out only if someone
   * asks for it (spd_tensor_grad): a 16 MiB fill is as long as the batch
   * norm's whole backward pass over the same tensor. So is a deferred one
   * (a batch norm's input gradient that the convolution producing the
   * input read a group of images at a time). */
  for (spd_tensor *y = loss; y != NULL; y = y->prev)
    zero_pending(y);
  return rc;
}

/* ---- leaves -------------------------------------------------------------- */

int spdi_op_leaf(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  const size_t *shape = y->cptr[0];
  const float *data = y->cptr[1];
  switch (action) {
  case SPDI_SHAPE: {
    int64_t ndim = y->iarg[0];
    if (ndim < 0 || ndim > SPDI_MAX_DIMS)
      return spdi_tape_fail(t, SPD_E_INVALID, "ndim %lld is not in 0..%d",
                            (long long)ndim, SPDI_MAX_DIMS);
    if (ndim > 0 && shape == NULL)
      return spdi_tape_fail(t, SPD_E_INVALID, "shape is NULL");
    for (int d = 0; d < ndim; d++) {
      if (shape[d] == 0)
        return spdi_tape_fail(t, SPD_E_INVALID, "dimension %d is 0", d);
      y->shape[d] = shape[d];
    }
    y->ndim = (uint8_t)ndim;
    y->requires_grad = y->iarg[1] != 0;
    return SPD_OK;
  }
  case SPDI_FORWARD:
    if (data == NULL) {
      memset(y->data, 0, y->n * sizeof(float));
      return SPD_OK;
    }
    if (!spdi_all_finite(data, y->n)) {
      char s[64];
      return spdi_tape_fail(t, SPD_E_DOMAIN, "data of shape %s holds NaN or Inf",
                            spdi_shape_str(y, s));
    }
    memcpy(y->data, data, y->n * sizeof(float));
    return SPD_OK;
  case SPDI_BACKWARD:
    return SPD_OK;
  }
  return SPD_OK;
}

spd_tensor *spd_leaf(spd_tape *t, int ndim, const size_t *shape, const float *data,
                     int requires_grad)
{
  struct spdi_args a = { .i = { ndim, requires_grad }, .cptr = { shape, data } };
  return spdi_node(t, SPDI_OP_LEAF, 0, NULL, &a);
}

/* ---- accessors ----------------------------------------------------------- */

int spd_tensor_ndim(const spd_tensor *x)
{
  if (x == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "x is NULL");
  return x->ndim;
}

int spd_tensor_shape(const spd_tensor *x, size_t *shape)
{
  if (x == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "x is NULL");
  if (shape == NULL && x->ndim > 0)
    return SPDI_FAIL(SPD_E_INVALID, "shape is NULL");
  for (int d = 0; d < x->ndim; d++)
    shape[d] = x->shape[d];
  return SPD_OK;
}

size_t spd_tensor_size(const spd_tensor *x)
{
  return x == NULL ? 0 : x->n;
}

const float *spd_tensor_data(const spd_tensor *x)
{
  return x == NULL ? NULL : x->data;
}

const float *spd_tensor_grad(const spd_tensor *x)
{
  if (x == NULL)
    return NULL;
  /* Tensors live in the tape's arena, never in const memory, and a tape is
   * used by one thread at a time: writing out a uniform gradient here is
   * safe, and invisible to the caller. */
  if (x->grad_uniform)
    spdi_grad_fill((spd_tensor *)x);
  if (x->grad_deferred != NULL)
    spdi_grad_undefer((spd_tensor *)x);
  return x->grad;
}
