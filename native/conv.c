/*
 * Convolution kernels for the wasm backend under Node, built at install time
 * with the host's vector instructions and OpenMP threads.
 *
 * Layouts are TensorFlow's: images NHWC, filters [kh, kw, inC, outC], dilation
 * 1. Every function reads and writes Float32Arrays, which may be views of the
 * wasm backend's heap, so no tensor is copied on the way in or out.
 *
 * Geometry, for one spatial axis (width is the same): input height H, output
 * height Ho, filter height kh, stride s, top padding pt. Output row i reads
 * input row i*s + a - pt for filter row a; rows outside [0, H) read zero.
 */
#include "conv.h"

#include <stddef.h>

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* 16 floats: one AVX-512 register, or two AVX2 ones. */
typedef float vec16 __attribute__((vector_size(64)));
/* The same vector at any float alignment, for loads and stores. */
typedef float vec16u __attribute__((vector_size(64), aligned(4)));

#define LANES 16

static inline vec16 load16(const float *p) { return *(const vec16u *)p; }
static inline void store16(float *p, vec16 v) { *(vec16u *)p = v; }
static inline vec16 splat16(float x) { return (vec16){0} + x; }
static inline int round_up(int n, int m) { return (n + m - 1) / m * m; }

/*
 * Below this many multiply-adds a convolution runs on the calling thread
 * alone: waking a sleeping thread can cost more than the work it would share.
 */
#define PARALLEL_MIN_MACS (1 << 21)

/* Multiply-adds of a convolution, input gradient or filter gradient of geometry g. */
static inline double conv_macs(const geometry *g) {
  return (double)g->batch * g->out_h * g->out_w * g->kh * g->kw * g->in_c * g->out_c;
}

/* ------------------------------------------------------------------ */
/* Forward convolution                                                 */
/* ------------------------------------------------------------------ */

/*
 * Output pixels ox0 .. ox0+NP-1 of row `oy` of one image, channel vectors
 * co0 .. co0+NB*16-1, summed in registers over every filter tap and input
 * channel, then stored to `out_row` ([out_w, packed_c]). `packed` is the
 * filter with its output channels padded to packed_c; `zeros` replaces
 * every input pixel outside the image.
 */
#define FORWARD_BLOCK(NP, NB)                                                        \
  static void forward_block_##NP##_##NB(const geometry *g, const float *image, int oy, \
                                        const float *packed, int packed_c,             \
                                        const float *zeros, int ox0, int co0,          \
                                        float *out_row) {                              \
    vec16 acc[NP][NB];                                                                 \
    for (int p = 0; p < NP; p++)                                                       \
      for (int v = 0; v < NB; v++) acc[p][v] = splat16(0.0f);                          \
    for (int a = 0; a < g->kh; a++) {                                                  \
      int iy = oy * g->stride_h + a - g->pad_top;                                      \
      if (iy < 0 || iy >= g->in_h) continue;                                           \
      const float *x_row = image + (ptrdiff_t)iy * g->in_w * g->in_c;                  \
      for (int b = 0; b < g->kw; b++) {                                                \
        const float *pixel[NP];                                                        \
        for (int p = 0; p < NP; p++) {                                                 \
          int ix = (ox0 + p) * g->stride_w + b - g->pad_left;                          \
          pixel[p] = (ix >= 0 && ix < g->in_w) ? x_row + (ptrdiff_t)ix * g->in_c : zeros; \
        }                                                                              \
        const float *w = packed + ((ptrdiff_t)(a * g->kw + b) * g->in_c) * packed_c + co0; \
        for (int ci = 0; ci < g->in_c; ci++) {                                         \
          vec16 wv[NB];                                                                \
          for (int v = 0; v < NB; v++) wv[v] = load16(w + v * LANES);                  \
          for (int p = 0; p < NP; p++) {                                               \
            vec16 xv = splat16(pixel[p][ci]);                                          \
            for (int v = 0; v < NB; v++) acc[p][v] += xv * wv[v];                      \
          }                                                                            \
          w += packed_c;                                                               \
        }                                                                              \
      }                                                                                \
    }                                                                                  \
    for (int p = 0; p < NP; p++) {                                                     \
      float *o = out_row + (ptrdiff_t)(ox0 + p) * packed_c + co0;                      \
      for (int v = 0; v < NB; v++) store16(o + v * LANES, acc[p][v]);                  \
    }                                                                                  \
  }

FORWARD_BLOCK(8, 2)
FORWARD_BLOCK(4, 2)
FORWARD_BLOCK(2, 2)
FORWARD_BLOCK(1, 2)
FORWARD_BLOCK(8, 1)
FORWARD_BLOCK(4, 1)
FORWARD_BLOCK(2, 1)
FORWARD_BLOCK(1, 1)

typedef void (*forward_block_fn)(const geometry *, const float *, int, const float *, int,
                                 const float *, int, int, float *);

static const int BLOCK_WIDTHS[4] = {8, 4, 2, 1};
static const forward_block_fn PAIR_BLOCKS[4] = {forward_block_8_2, forward_block_4_2,
                                                forward_block_2_2, forward_block_1_2};
static const forward_block_fn SINGLE_BLOCKS[4] = {forward_block_8_1, forward_block_4_1,
                                                  forward_block_2_1, forward_block_1_1};

/*
 * out[n, oy, ox, :out_c] for the whole batch, rows shared among threads.
 * `packed` is [kh, kw, in_c, packed_c]. `out` is [batch, out_h, out_w, out_c].
 */
static void forward(const geometry *g, const float *x, const float *packed, int packed_c,
                    float *out) {
  const int rows = g->batch * g->out_h;
  const int direct = packed_c == g->out_c;
  float *zeros = calloc((size_t)g->in_c + LANES, sizeof(float));
#pragma omp parallel if (conv_macs(g) >= PARALLEL_MIN_MACS)
  {
    float *buffer = direct ? NULL : malloc((size_t)g->out_w * packed_c * sizeof(float));
#pragma omp for schedule(dynamic)
    for (int r = 0; r < rows; r++) {
      int n = r / g->out_h, oy = r % g->out_h;
      const float *image = x + (ptrdiff_t)n * g->in_h * g->in_w * g->in_c;
      float *out_row = out + (ptrdiff_t)r * g->out_w * g->out_c;
      float *target = direct ? out_row : buffer;
      for (int co0 = 0; co0 < packed_c;) {
        int pair = packed_c - co0 >= 2 * LANES;
        int ox0 = 0;
        for (int k = 0; k < 4; k++) {
          while (g->out_w - ox0 >= BLOCK_WIDTHS[k]) {
            (pair ? PAIR_BLOCKS : SINGLE_BLOCKS)[k](g, image, oy, packed, packed_c, zeros,
                                                    ox0, co0, target);
            ox0 += BLOCK_WIDTHS[k];
          }
        }
        co0 += pair ? 2 * LANES : LANES;
      }
      if (!direct) {
        for (int ox = 0; ox < g->out_w; ox++) {
          memcpy(out_row + (ptrdiff_t)ox * g->out_c, buffer + (ptrdiff_t)ox * packed_c,
                 (size_t)g->out_c * sizeof(float));
        }
      }
    }
    free(buffer);
  }
  free(zeros);
}

/* The filter [kh, kw, in_c, out_c] with output channels zero-padded to packed_c. */
static float *pack_filter(const float *w, int taps, int in_c, int out_c, int packed_c) {
  float *packed = calloc((size_t)taps * in_c * packed_c, sizeof(float));
  for (ptrdiff_t row = 0; row < (ptrdiff_t)taps * in_c; row++) {
    memcpy(packed + row * packed_c, w + row * out_c, (size_t)out_c * sizeof(float));
  }
  return packed;
}

/*
 * The filter with in and out channels swapped, the new output channels (the
 * old in_c) padded to packed_c: [kh, kw, out_c, packed_c]. With `flip` it is
 * also flipped in both spatial axes, which makes the input gradient of a
 * stride-1 convolution a forward convolution.
 */
static float *pack_swapped_filter(const float *w, int kh, int kw, int in_c, int out_c,
                                  int packed_c, int flip) {
  float *packed = calloc((size_t)kh * kw * out_c * packed_c, sizeof(float));
  for (int a = 0; a < kh; a++)
    for (int b = 0; b < kw; b++) {
      const ptrdiff_t tap = flip ? (ptrdiff_t)(kh - 1 - a) * kw + (kw - 1 - b) : (ptrdiff_t)a * kw + b;
      for (int ci = 0; ci < in_c; ci++)
        for (int co = 0; co < out_c; co++)
          packed[(tap * out_c + co) * packed_c + ci] = w[(((ptrdiff_t)a * kw + b) * in_c + ci) * out_c + co];
    }
  return packed;
}

/* ------------------------------------------------------------------ */
/* Filter gradient                                                     */
/* ------------------------------------------------------------------ */

/*
 * Adds Σ over output pixels ox in [lo, hi) of one row of
 * x[.., ci0+i] · dy[.., co0 + lanes] to the thread's dw rows ci0 .. ci0+NC-1
 * of one filter tap, with the NC × NB accumulators in registers.
 */
#define FILTER_BLOCK(NC, NB)                                                          \
  static void filter_block_##NC##_##NB(const float *x_tap, int x_step,                \
                                       const float *dy_row, int packed_c, int lo,     \
                                       int hi, float *dw_tap) {                       \
    vec16 acc[NC][NB];                                                                \
    for (int i = 0; i < NC; i++)                                                      \
      for (int v = 0; v < NB; v++) acc[i][v] = load16(dw_tap + i * packed_c + v * LANES); \
    for (int ox = lo; ox < hi; ox++) {                                                \
      const float *xp = x_tap + (ptrdiff_t)ox * x_step;                               \
      const float *dp = dy_row + (ptrdiff_t)ox * packed_c;                            \
      vec16 dv[NB];                                                                   \
      for (int v = 0; v < NB; v++) dv[v] = load16(dp + v * LANES);                    \
      for (int i = 0; i < NC; i++) {                                                  \
        vec16 xv = splat16(xp[i]);                                                    \
        for (int v = 0; v < NB; v++) acc[i][v] += xv * dv[v];                         \
      }                                                                               \
    }                                                                                 \
    for (int i = 0; i < NC; i++)                                                      \
      for (int v = 0; v < NB; v++) store16(dw_tap + i * packed_c + v * LANES, acc[i][v]); \
  }

FILTER_BLOCK(8, 2)
FILTER_BLOCK(4, 2)
FILTER_BLOCK(2, 2)
FILTER_BLOCK(1, 2)
FILTER_BLOCK(8, 1)
FILTER_BLOCK(4, 1)
FILTER_BLOCK(2, 1)
FILTER_BLOCK(1, 1)

typedef void (*filter_block_fn)(const float *, int, const float *, int, int, int, float *);

static const filter_block_fn FILTER_PAIRS[4] = {filter_block_8_2, filter_block_4_2,
                                                filter_block_2_2, filter_block_1_2};
static const filter_block_fn FILTER_SINGLES[4] = {filter_block_8_1, filter_block_4_1,
                                                  filter_block_2_1, filter_block_1_1};

/* First and one-past-last output column whose input column for tap b is inside the image. */
static void valid_columns(const geometry *g, int b, int *lo, int *hi) {
  int first = g->pad_left - b; /* ox * s >= first */
  *lo = first <= 0 ? 0 : (first + g->stride_w - 1) / g->stride_w;
  int last = g->in_w - 1 + g->pad_left - b; /* ox * s <= last */
  *hi = last < 0 ? 0 : last / g->stride_w + 1;
  if (*hi > g->out_w) *hi = g->out_w;
}

/* Row blocks of the filter gradient: a fixed count, so the sum's order and result do not depend on the thread count. */
#define FILTER_BLOCKS 16

/*
 * dw[a, b, ci, co] = Σ x[n, oy*s + a - pt, ox*s + b - pl, ci] dy[n, oy, ox, co].
 * The output rows fall into FILTER_BLOCKS blocks. One thread sums each block
 * into its own copy of dw, and the copies are then added in block order.
 * `dy` rows are [out_w, packed_c].
 */
static void filter_gradient(const geometry *g, const float *x, const float *dy, int packed_c,
                            float *dw) {
  const int rows = g->batch * g->out_h;
  const int blocks = rows < FILTER_BLOCKS ? rows : FILTER_BLOCKS;
  const ptrdiff_t size = (ptrdiff_t)g->kh * g->kw * g->in_c * packed_c;
  float *partial = calloc((size_t)blocks * size, sizeof(float));
#pragma omp parallel for schedule(dynamic) if (conv_macs(g) >= PARALLEL_MIN_MACS)
  for (int block = 0; block < blocks; block++) {
    float *mine = partial + block * size;
    const int r0 = (int)((ptrdiff_t)rows * block / blocks), r1 = (int)((ptrdiff_t)rows * (block + 1) / blocks);
    for (int r = r0; r < r1; r++) {
      int n = r / g->out_h, oy = r % g->out_h;
      const float *dy_row = dy + (ptrdiff_t)r * g->out_w * packed_c;
      for (int a = 0; a < g->kh; a++) {
        int iy = oy * g->stride_h + a - g->pad_top;
        if (iy < 0 || iy >= g->in_h) continue;
        const float *x_row = x + ((ptrdiff_t)n * g->in_h + iy) * g->in_w * g->in_c;
        for (int b = 0; b < g->kw; b++) {
          int lo, hi;
          valid_columns(g, b, &lo, &hi);
          if (lo >= hi) continue;
          /* x_tap + ox * x_step is the input pixel that output column ox reads. */
          const float *x_tap = x_row + (ptrdiff_t)(b - g->pad_left) * g->in_c;
          const int x_step = g->stride_w * g->in_c;
          float *dw_tap = mine + (ptrdiff_t)(a * g->kw + b) * g->in_c * packed_c;
          for (int co0 = 0; co0 < packed_c;) {
            int pair = packed_c - co0 >= 2 * LANES;
            int ci0 = 0;
            for (int k = 0; k < 4; k++) {
              while (g->in_c - ci0 >= BLOCK_WIDTHS[k]) {
                (pair ? FILTER_PAIRS : FILTER_SINGLES)[k](
                    x_tap + ci0, x_step, dy_row + co0, packed_c, lo, hi,
                    dw_tap + (ptrdiff_t)ci0 * packed_c + co0);
                ci0 += BLOCK_WIDTHS[k];
              }
            }
            co0 += pair ? 2 * LANES : LANES;
          }
        }
      }
    }
  }
  const ptrdiff_t out_rows = (ptrdiff_t)g->kh * g->kw * g->in_c;
#pragma omp parallel for schedule(static) if (conv_macs(g) >= PARALLEL_MIN_MACS)
  for (ptrdiff_t row = 0; row < out_rows; row++) {
    for (int co = 0; co < g->out_c; co++) {
      float sum = 0.0f;
      for (int t = 0; t < blocks; t++) sum += partial[t * size + row * packed_c + co];
      dw[row * g->out_c + co] = sum;
    }
  }
  free(partial);
}

/* ------------------------------------------------------------------ */
/* Strided input gradient                                              */
/* ------------------------------------------------------------------ */

/*
 * dx pixel (iy, ix) of one image, channel vectors ci0 .. ci0+NB*16-1:
 * Σ over the taps (a, b) that reach it from an output pixel, and over output
 * channels, of dy[oy, ox, co] · w[a, b, ci, co]. `packed` is the filter as
 * [kh, kw, out_c, packed_c] (pack_swapped_filter, not flipped).
 */
#define GATHER_BLOCK(NB)                                                                  \
  static void gather_block_##NB(const geometry *g, const float *dy_image, int iy, int ix, \
                                const float *packed, int packed_c, int ci0,             \
                                float *dx_pixel) {                                      \
    vec16 acc[NB];                                                                      \
    for (int v = 0; v < NB; v++) acc[v] = splat16(0.0f);                                \
    for (int a = 0; a < g->kh; a++) {                                                   \
      int ty = iy + g->pad_top - a;                                                     \
      if (ty < 0 || ty % g->stride_h != 0 || ty / g->stride_h >= g->out_h) continue;    \
      const float *dy_row = dy_image + (ptrdiff_t)(ty / g->stride_h) * g->out_w * g->out_c; \
      for (int b = 0; b < g->kw; b++) {                                                 \
        int tx = ix + g->pad_left - b;                                                  \
        if (tx < 0 || tx % g->stride_w != 0 || tx / g->stride_w >= g->out_w) continue;  \
        const float *d = dy_row + (ptrdiff_t)(tx / g->stride_w) * g->out_c;             \
        const float *w = packed + ((ptrdiff_t)(a * g->kw + b) * g->out_c) * packed_c + ci0; \
        for (int co = 0; co < g->out_c; co++) {                                         \
          vec16 dv = splat16(d[co]);                                                    \
          for (int v = 0; v < NB; v++) acc[v] += dv * load16(w + v * LANES);            \
          w += packed_c;                                                                \
        }                                                                               \
      }                                                                                 \
    }                                                                                   \
    for (int v = 0; v < NB; v++) store16(dx_pixel + ci0 + v * LANES, acc[v]);           \
  }

GATHER_BLOCK(2)
GATHER_BLOCK(1)

/* dx for any stride, pixel by pixel; rows shared among threads. */
static void input_gradient_strided(const geometry *g, const float *dy, const float *w, float *dx) {
  const int packed_c = round_up(g->in_c, LANES);
  float *packed = pack_swapped_filter(w, g->kh, g->kw, g->in_c, g->out_c, packed_c, 0);
  const int rows = g->batch * g->in_h;
#pragma omp parallel if (conv_macs(g) >= PARALLEL_MIN_MACS)
  {
    float *pixel = malloc((size_t)packed_c * sizeof(float));
#pragma omp for schedule(dynamic)
    for (int r = 0; r < rows; r++) {
      int n = r / g->in_h, iy = r % g->in_h;
      const float *dy_image = dy + (ptrdiff_t)n * g->out_h * g->out_w * g->out_c;
      for (int ix = 0; ix < g->in_w; ix++) {
        for (int ci0 = 0; ci0 < packed_c;) {
          if (packed_c - ci0 >= 2 * LANES) {
            gather_block_2(g, dy_image, iy, ix, packed, packed_c, ci0, pixel);
            ci0 += 2 * LANES;
          } else {
            gather_block_1(g, dy_image, iy, ix, packed, packed_c, ci0, pixel);
            ci0 += LANES;
          }
        }
        memcpy(dx + ((ptrdiff_t)r * g->in_w + ix) * g->in_c, pixel, (size_t)g->in_c * sizeof(float));
      }
    }
    free(pixel);
  }
  free(packed);
}

/* ------------------------------------------------------------------ */
/* Entry points (conv.h)                                               */
/* ------------------------------------------------------------------ */

void conv_forward(const geometry *g, const float *x, const float *w, float *out) {
  int packed_c = round_up(g->out_c, LANES);
  float *packed = pack_filter(w, g->kh * g->kw, g->in_c, g->out_c, packed_c);
  forward(g, x, packed, packed_c, out);
  free(packed);
}

void conv_input_gradient(const geometry *g, const float *dy, const float *w, float *dx) {
  if (g->stride_h != 1 || g->stride_w != 1 || g->pad_top >= g->kh || g->pad_left >= g->kw) {
    input_gradient_strided(g, dy, w, dx);
    return;
  }
  /* dx[iy] = Σ_a dy[iy + pt - a] w[a]: a forward convolution of dy with the flipped filter. */
  geometry back = {g->batch, g->out_h, g->out_w, g->out_c, g->in_h, g->in_w, g->in_c,
                   g->kh, g->kw, 1, 1, g->kh - 1 - g->pad_top, g->kw - 1 - g->pad_left};
  int packed_c = round_up(g->in_c, LANES);
  float *packed = pack_swapped_filter(w, g->kh, g->kw, g->in_c, g->out_c, packed_c, 1);
  forward(&back, dy, packed, packed_c, dx);
  free(packed);
}

void conv_filter_gradient(const geometry *g, const float *x, const float *dy, float *dw) {
  int packed_c = round_up(g->out_c, LANES);
  float *padded = NULL;
  if (packed_c != g->out_c) {
    /* Rows of dy padded with zero channels, so every vector load stays in bounds. */
    size_t pixels = (size_t)g->batch * g->out_h * g->out_w;
    padded = calloc(pixels * packed_c, sizeof(float));
    for (size_t p = 0; p < pixels; p++)
      memcpy(padded + p * packed_c, dy + p * g->out_c, (size_t)g->out_c * sizeof(float));
    dy = padded;
  }
  filter_gradient(g, x, dy, packed_c, dw);
  free(padded);
}
