/* Kernels of ops.c; module.c exposes them to JavaScript. */
#ifndef DDN_OPS_H
#define DDN_OPS_H

#include <stddef.h>

typedef enum { BINARY_ADD, BINARY_SUB, BINARY_MUL, BINARY_DIV, BINARY_SQUARED_DIFFERENCE, BINARY_OP_COUNT } binary_op_kind;

/*
 * out[a, b, c] = x[a*xs[0] + b*xs[1] + c*xs[2]] OP y[the same with ys], for the
 * output shape dims = [A, B, C]. A step of 0 broadcasts that axis; xs[2] and
 * ys[2] are 0 or 1.
 */
void binary_op(binary_op_kind op, const float *x, const ptrdiff_t xs[3], const float *y,
               const ptrdiff_t ys[3], float *out, const ptrdiff_t dims[3]);

/* out[o, i] = scale · Σ_m x[o, m, i] for x shaped [outer, middle, inner]. */
void sum_axes(const float *x, float *out, ptrdiff_t outer, ptrdiff_t middle, ptrdiff_t inner, float scale);

/* out[o, :] = the rows inputs[0][o, :widths[0]], inputs[1][o, :widths[1]], … one after another. */
void concat_rows(float *out, const float *const *inputs, const ptrdiff_t *widths, int count, ptrdiff_t outer);

/* out[i] = 1 / (1 + e^(−x[i])), within about 3e-7; NaN stays NaN. */
void sigmoid(const float *x, float *out, ptrdiff_t n);

/* Constants of one Adam step: beta1, 1 − beta1, beta2, 1 − beta2, epsilon, step size. */
#define ADAM_CONSTANTS 6

/*
 * One Adam step over n weights p with gradient g and moments m, v:
 * m' = beta1·m + (1 − beta1)·g, v' = beta2·v + (1 − beta2)·g², and
 * p' = p − step·m' / (√v' + epsilon), with the bias corrections folded into step.
 */
void adam_step(const float *p, const float *g, const float *m, const float *v, float *p_out, float *m_out,
               float *v_out, ptrdiff_t n, const float constants[ADAM_CONSTANTS]);

typedef struct {
  ptrdiff_t batch, batch_a, batch_b; /* batch_a and batch_b are batch or 1 */
  ptrdiff_t m, k, n;
  int transpose_a, transpose_b;
} matmul_shape;

/* out[q] (m × n) = op(a[q]) · op(b[q]); a is [batch_a, m, k] or, transposed, [batch_a, k, m]. */
void batch_matmul(const float *a, const float *b, float *out, const matmul_shape *shape);

#endif
