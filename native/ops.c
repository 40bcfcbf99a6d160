/*
 * Elementwise, reduction and matrix-product kernels for the wasm backend
 * under Node: the tfjs-backend-wasm kernels that a training step calls most
 * after the convolutions. Same conventions as conv.c: Float32Arrays that may
 * view the wasm heap, OpenMP threads, no copies in or out.
 */
#include "ops.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/*
 * Below this many elements (or multiply-adds) a kernel runs on the calling
 * thread alone: waking a sleeping thread costs tens of microseconds, more
 * than one core needs for a memory-bound pass over a few megabytes.
 */
#define PARALLEL_MIN (1 << 20)

/* Blocks of a long sum's middle axis; fixed, so the result is the same for any thread count. */
#define SUM_BLOCKS 8

typedef float vec16 __attribute__((vector_size(64)));
typedef float vec16u __attribute__((vector_size(64), aligned(4)));

/*
 * One output row of length c: out[j] = x[j * xc] OP y[j * yc], where each
 * step is 0 (broadcast) or 1. Four loops, so that each one vectorises.
 */
#define BINARY_ROW(NAME, EXPR)                                                           \
  static void NAME(const float *restrict x, ptrdiff_t xc, const float *restrict y,       \
                   ptrdiff_t yc, float *restrict out, ptrdiff_t c) {                     \
    if (xc && yc) {                                                                      \
      for (ptrdiff_t j = 0; j < c; j++) { float a = x[j], b = y[j]; out[j] = (EXPR); }   \
    } else if (xc) {                                                                     \
      float b = y[0];                                                                    \
      for (ptrdiff_t j = 0; j < c; j++) { float a = x[j]; out[j] = (EXPR); }             \
    } else if (yc) {                                                                     \
      float a = x[0];                                                                    \
      for (ptrdiff_t j = 0; j < c; j++) { float b = y[j]; out[j] = (EXPR); }             \
    } else {                                                                             \
      float a = x[0], b = y[0];                                                          \
      for (ptrdiff_t j = 0; j < c; j++) out[j] = (EXPR);                                 \
    }                                                                                    \
  }

BINARY_ROW(add_row, a + b)
BINARY_ROW(sub_row, a - b)
BINARY_ROW(mul_row, a * b)
BINARY_ROW(div_row, a / b)
BINARY_ROW(squared_difference_row, (a - b) * (a - b))

typedef void (*binary_row_fn)(const float *, ptrdiff_t, const float *, ptrdiff_t, float *,
                              ptrdiff_t);

static const binary_row_fn BINARY_ROWS[BINARY_OP_COUNT] = {
    add_row, sub_row, mul_row, div_row, squared_difference_row};

void binary_op(binary_op_kind op, const float *x, const ptrdiff_t xs[3], const float *y,
               const ptrdiff_t ys[3], float *out, const ptrdiff_t dims[3]) {
  const binary_row_fn row = BINARY_ROWS[op];
  const ptrdiff_t rows = dims[0] * dims[1], c = dims[2];
#pragma omp parallel for schedule(static) if (rows * c >= PARALLEL_MIN)
  for (ptrdiff_t r = 0; r < rows; r++) {
    ptrdiff_t a = r / dims[1], b = r % dims[1];
    row(x + a * xs[0] + b * xs[1], xs[2], y + a * ys[0] + b * ys[1], ys[2], out + r * c, c);
  }
}

/* Σ of n floats, in 16 partial sums (a float sum does not vectorise by itself). */
static float sum_contiguous(const float *x, ptrdiff_t n) {
  vec16 acc = {0};
  ptrdiff_t i = 0;
  for (; i + 16 <= n; i += 16) acc += *(const vec16u *)(x + i);
  float total = 0.0f;
  for (int l = 0; l < 16; l++) total += acc[l];
  for (; i < n; i++) total += x[i];
  return total;
}

/* out[o, :inner] += Σ over m in [m0, m1) of x[o, m, :inner]. */
static void sum_middle(const float *x, ptrdiff_t o, ptrdiff_t middle, ptrdiff_t inner, ptrdiff_t m0,
                       ptrdiff_t m1, float *restrict out_row) {
  const float *base = x + o * middle * inner;
  for (ptrdiff_t m = m0; m < m1; m++) {
    const float *restrict row = base + m * inner;
    for (ptrdiff_t i = 0; i < inner; i++) out_row[i] += row[i];
  }
}

static void sum_axes_unscaled(const float *x, float *out, ptrdiff_t outer, ptrdiff_t middle, ptrdiff_t inner) {
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * middle >= PARALLEL_MIN)
    for (ptrdiff_t o = 0; o < outer; o++) out[o] = sum_contiguous(x + o * middle, middle);
    return;
  }
  if (outer >= SUM_BLOCKS || outer * middle * inner < PARALLEL_MIN) {
    memset(out, 0, (size_t)(outer * inner) * sizeof(float));
#pragma omp parallel for schedule(static) if (outer * middle * inner >= PARALLEL_MIN)
    for (ptrdiff_t o = 0; o < outer; o++) sum_middle(x, o, middle, inner, 0, middle, out + o * inner);
    return;
  }
  /*
   * Few outer rows: the middle axis falls into SUM_BLOCKS blocks, summed in
   * parallel, then added in block order, so the result does not depend on
   * the thread count.
   */
  float *partial = calloc((size_t)(SUM_BLOCKS * outer * inner), sizeof(float));
#pragma omp parallel for schedule(static)
  for (int block = 0; block < SUM_BLOCKS; block++) {
    const ptrdiff_t m0 = middle * block / SUM_BLOCKS, m1 = middle * (block + 1) / SUM_BLOCKS;
    for (ptrdiff_t o = 0; o < outer; o++)
      sum_middle(x, o, middle, inner, m0, m1, partial + (block * outer + o) * inner);
  }
  for (ptrdiff_t j = 0; j < outer * inner; j++) {
    float total = 0.0f;
    for (int block = 0; block < SUM_BLOCKS; block++) total += partial[block * outer * inner + j];
    out[j] = total;
  }
  free(partial);
}

void sum_axes(const float *x, float *out, ptrdiff_t outer, ptrdiff_t middle, ptrdiff_t inner, float scale) {
  sum_axes_unscaled(x, out, outer, middle, inner);
  if (scale != 1.0f)
    for (ptrdiff_t j = 0; j < outer * inner; j++) out[j] *= scale;
}

void concat_rows(float *out, const float *const *inputs, const ptrdiff_t *widths, int count, ptrdiff_t outer) {
  ptrdiff_t total = 0;
  for (int i = 0; i < count; i++) total += widths[i];
#pragma omp parallel for schedule(static) if (outer * total >= PARALLEL_MIN)
  for (ptrdiff_t o = 0; o < outer; o++) {
    float *row = out + o * total;
    for (int i = 0; i < count; i++) {
      memcpy(row, inputs[i] + o * widths[i], (size_t)widths[i] * sizeof(float));
      row += widths[i];
    }
  }
}

/*
 * e^x for x in [-87, 88], within about 2e-7 relative: x·log2(e) = n + f with
 * n whole and |f| ≤ 1/2, then 2^n from the exponent bits and e^(f·ln 2) from
 * its Taylor series to the sixth power. Written with plain float and int
 * steps, so that the loops calling it vectorise.
 */
/*
 * The float-to-int step and the square root vectorise only when the compiler
 * may ignore floating-point traps and errno.
 */
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math", "no-math-errno")

static inline float exp_approx(float x) {
  const float t = x * 1.44269504f;
  const float n = __builtin_floorf(t + 0.5f);
  const float r = (t - n) * 0.693147181f;
  const float p =
      1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
  const int bits = ((int)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* The sigmoid of n floats on the calling thread. */
static void sigmoid_range(const float *restrict x, float *restrict out, ptrdiff_t n) {
  for (ptrdiff_t i = 0; i < n; i++) {
    float v = -x[i];
    v = v < -87.0f ? -87.0f : v;
    v = v > 88.0f ? 88.0f : v;
    const float y = 1.0f / (1.0f + exp_approx(v));
    out[i] = x[i] != x[i] ? x[i] : y; /* NaN stays NaN */
  }
}

/* One Adam step over n weights; see adam_step. */
static void adam_range(const float *restrict p, const float *restrict g, const float *restrict m,
                       const float *restrict v, float *restrict p_out, float *restrict m_out,
                       float *restrict v_out, ptrdiff_t n, const float c[ADAM_CONSTANTS]) {
  const float beta1 = c[0], rest1 = c[1], beta2 = c[2], rest2 = c[3], epsilon = c[4], step = c[5];
  for (ptrdiff_t i = 0; i < n; i++) {
    const float first = beta1 * m[i] + rest1 * g[i];
    const float second = beta2 * v[i] + rest2 * (g[i] * g[i]);
    m_out[i] = first;
    v_out[i] = second;
    p_out[i] = p[i] - (first * step) / (__builtin_sqrtf(second) + epsilon);
  }
}

#pragma GCC pop_options

void adam_step(const float *p, const float *g, const float *m, const float *v, float *p_out, float *m_out,
               float *v_out, ptrdiff_t n, const float constants[ADAM_CONSTANTS]) {
  adam_range(p, g, m, v, p_out, m_out, v_out, n, constants);
}

/* Blocks of the sigmoid shared among threads. */
#define SIGMOID_BLOCK 65536

void sigmoid(const float *x, float *out, ptrdiff_t n) {
  const ptrdiff_t blocks = (n + SIGMOID_BLOCK - 1) / SIGMOID_BLOCK;
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
  for (ptrdiff_t b = 0; b < blocks; b++) {
    const ptrdiff_t start = b * SIGMOID_BLOCK;
    sigmoid_range(x + start, out + start, n - start < SIGMOID_BLOCK ? n - start : SIGMOID_BLOCK);
  }
}

/* [rows, cols] → [cols, rows] for each of `count` matrices. */
static float *transpose_batch(const float *x, ptrdiff_t count, ptrdiff_t rows, ptrdiff_t cols) {
  float *t = malloc((size_t)(count * rows * cols) * sizeof(float));
  for (ptrdiff_t q = 0; q < count; q++)
    for (ptrdiff_t r = 0; r < rows; r++)
      for (ptrdiff_t c = 0; c < cols; c++) t[(q * cols + c) * rows + r] = x[(q * rows + r) * cols + c];
  return t;
}

/* Σ_k a[k] b[k], in 16 partial sums. */
static float dot(const float *a, const float *b, ptrdiff_t n) {
  vec16 acc = {0};
  ptrdiff_t k = 0;
  for (; k + 16 <= n; k += 16) acc += *(const vec16u *)(a + k) * *(const vec16u *)(b + k);
  float total = 0.0f;
  for (int l = 0; l < 16; l++) total += acc[l];
  for (; k < n; k++) total += a[k] * b[k];
  return total;
}

/*
 * Two loop orders. With at least 16 output columns, each output row is a
 * sum of rows of op(b) laid out [k, n], which vectorises along n. With fewer,
 * each output element is a dot product of a row of op(a) laid out [m, k] and
 * a row of op(b) laid out [n, k], which vectorises along k.
 */
/*
 * op(a) = aᵀ with few output columns: column j of the output is
 * Σ_k op(b)[k, j] · a[k, :], a sum of rows of a, which vectorises along m
 * and needs no transposed copy of a.
 */
static void matmul_transposed_a_narrow(const float *a, const float *b, float *out, const matmul_shape *s) {
#pragma omp parallel if (s->batch * s->m * s->n * s->k >= PARALLEL_MIN)
  {
    float *columns = malloc((size_t)(s->n * s->m) * sizeof(float)); /* [n, m] */
#pragma omp for schedule(static)
    for (ptrdiff_t q = 0; q < s->batch; q++) {
      const float *am = a + (s->batch_a == 1 ? 0 : q) * s->k * s->m; /* [k, m] */
      const float *bm = b + (s->batch_b == 1 ? 0 : q) * s->k * s->n;
      memset(columns, 0, (size_t)(s->n * s->m) * sizeof(float));
      for (ptrdiff_t k = 0; k < s->k; k++) {
        const float *restrict arow = am + k * s->m;
        for (ptrdiff_t j = 0; j < s->n; j++) {
          const float v = s->transpose_b ? bm[j * s->k + k] : bm[k * s->n + j];
          float *restrict column = columns + j * s->m;
          for (ptrdiff_t i = 0; i < s->m; i++) column[i] += v * arow[i];
        }
      }
      float *c = out + q * s->m * s->n;
      for (ptrdiff_t i = 0; i < s->m; i++)
        for (ptrdiff_t j = 0; j < s->n; j++) c[i * s->n + j] = columns[j * s->m + i];
    }
    free(columns);
  }
}

void batch_matmul(const float *a, const float *b, float *out, const matmul_shape *s) {
  const int by_rows = s->n >= 16;
  if (!by_rows && s->transpose_a) {
    matmul_transposed_a_narrow(a, b, out, s);
    return;
  }
  /* op(a) as [m, k] for the dot products; op(b) as [k, n] for row sums or [n, k] for dots. */
  float *a_rows = !by_rows && s->transpose_a ? transpose_batch(a, s->batch_a, s->k, s->m) : NULL;
  float *b_laid = by_rows == s->transpose_b
                      ? (s->transpose_b ? transpose_batch(b, s->batch_b, s->n, s->k)
                                        : transpose_batch(b, s->batch_b, s->k, s->n))
                      : NULL;
  const float *am_base = a_rows != NULL ? a_rows : a;
  const float *bm_base = b_laid != NULL ? b_laid : b;
  const ptrdiff_t rows = s->batch * s->m;
#pragma omp parallel for schedule(static) if (rows * s->n * s->k >= PARALLEL_MIN)
  for (ptrdiff_t r = 0; r < rows; r++) {
    const ptrdiff_t q = r / s->m, i = r % s->m;
    const float *am = am_base + (s->batch_a == 1 ? 0 : q) * s->m * s->k;
    const float *bm = bm_base + (s->batch_b == 1 ? 0 : q) * s->k * s->n;
    float *restrict c = out + r * s->n;
    if (by_rows) {
      memset(c, 0, (size_t)s->n * sizeof(float));
      for (ptrdiff_t k = 0; k < s->k; k++) {
        const float v = s->transpose_a ? am[k * s->m + i] : am[i * s->k + k];
        const float *restrict brow = bm + k * s->n;
        for (ptrdiff_t j = 0; j < s->n; j++) c[j] += v * brow[j];
      }
    } else {
      for (ptrdiff_t j = 0; j < s->n; j++) c[j] = dot(am + i * s->k, bm + j * s->k, s->k);
    }
  }
  free(a_rows);
  free(b_laid);
}
