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
#include <node_api.h>
#include <omp.h>
#include <stddef.h>
#include <stdio.h>
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

/* Shape of one convolution. */
typedef struct {
  int batch, in_h, in_w, in_c;
  int out_h, out_w, out_c;
  int kh, kw, stride_h, stride_w, pad_top, pad_left;
} geometry;

/* ------------------------------------------------------------------ */
/* Forward convolution                                                 */
/* ------------------------------------------------------------------ */

/*
 * Output pixels ox0 .. ox0+NP-1 of row `oy` of one image, channel vectors
 * co0 .. co0+NB*16-1, summed in registers over every filter tap and input
 * channel, then stored to `out_row` ([out_w, packed_c]). `packed` is the
 * filter with its output channels padded to packed_c; `zeros` stands in for
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
#pragma omp parallel
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
 * The filter of the input gradient as a forward convolution (stride 1):
 * flipped in both spatial axes, in and out channels swapped, the new output
 * channels (the old in_c) padded to packed_c. Result [kh, kw, out_c, packed_c].
 */
static float *pack_transposed_filter(const float *w, int kh, int kw, int in_c, int out_c,
                                     int packed_c) {
  float *packed = calloc((size_t)kh * kw * out_c * packed_c, sizeof(float));
  for (int a = 0; a < kh; a++)
    for (int b = 0; b < kw; b++)
      for (int ci = 0; ci < in_c; ci++)
        for (int co = 0; co < out_c; co++) {
          float value = w[(((ptrdiff_t)a * kw + b) * in_c + ci) * out_c + co];
          packed[(((ptrdiff_t)(kh - 1 - a) * kw + (kw - 1 - b)) * out_c + co) * packed_c + ci] =
              value;
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

/*
 * dw[a, b, ci, co] = Σ x[n, oy*s + a - pt, ox*s + b - pl, ci] dy[n, oy, ox, co].
 * Each thread sums its share of output rows into its own copy of dw; the
 * copies are added at the end. `dy` rows are [out_w, packed_c].
 */
static void filter_gradient(const geometry *g, const float *x, const float *dy, int packed_c,
                            float *dw) {
  const int rows = g->batch * g->out_h;
  const ptrdiff_t size = (ptrdiff_t)g->kh * g->kw * g->in_c * packed_c;
  const int threads = omp_get_max_threads();
  float *partial = calloc((size_t)threads * size, sizeof(float));
#pragma omp parallel num_threads(threads)
  {
    float *mine = partial + omp_get_thread_num() * size;
#pragma omp for schedule(dynamic)
    for (int r = 0; r < rows; r++) {
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
#pragma omp parallel for schedule(static)
  for (ptrdiff_t row = 0; row < out_rows; row++) {
    for (int co = 0; co < g->out_c; co++) {
      float sum = 0.0f;
      for (int t = 0; t < threads; t++) sum += partial[t * size + row * packed_c + co];
      dw[row * g->out_c + co] = sum;
    }
  }
  free(partial);
}

/* ------------------------------------------------------------------ */
/* Node-API glue                                                       */
/* ------------------------------------------------------------------ */

#define DIMS 13

/* Reads a Float32Array into *data (NULL when empty); returns 0 after throwing. */
static int float_array(napi_env env, napi_value value, const char *name, float **data,
                       size_t *length) {
  napi_typedarray_type type;
  void *pointer = NULL;
  if (napi_get_typedarray_info(env, value, &type, length, &pointer, NULL, NULL) != napi_ok ||
      type != napi_float32_array) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a Float32Array", name);
    napi_throw_type_error(env, NULL, message);
    return 0;
  }
  *data = pointer;
  return 1;
}

/* Reads the 13 geometry numbers; returns 0 after throwing. */
static int read_geometry(napi_env env, napi_value value, geometry *g) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array || length != DIMS) {
    napi_throw_type_error(env, NULL, "geometry must be an Int32Array of 13 numbers");
    return 0;
  }
  const int *d = data;
  *g = (geometry){d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12]};
  for (int i = 0; i < DIMS; i++) {
    if (d[i] < (i >= 11 ? 0 : 1)) {
      napi_throw_range_error(env, NULL, "geometry has a size below 1 or a negative padding");
      return 0;
    }
  }
  return 1;
}

/* Throws unless `length` equals `expected`; returns whether it does. */
static int check_length(napi_env env, const char *name, size_t length, size_t expected) {
  if (length == expected) return 1;
  char message[160];
  snprintf(message, sizeof message, "%s holds %zu floats, the geometry needs %zu", name, length,
           expected);
  napi_throw_range_error(env, NULL, message);
  return 0;
}

/* Reads (first, second, result, geometry); returns 0 after throwing. */
static int read_call(napi_env env, napi_callback_info info, const char *names[3], float *arrays[3],
                     size_t lengths[3], geometry *g) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 4) {
    napi_throw_type_error(env, NULL, "expected 4 arguments");
    return 0;
  }
  for (int i = 0; i < 3; i++) {
    if (!float_array(env, argv[i], names[i], &arrays[i], &lengths[i])) return 0;
  }
  return read_geometry(env, argv[3], g);
}

static size_t image_size(int batch, int h, int w, int c) { return (size_t)batch * h * w * c; }

/* conv2dForward(x, filter, out, geometry) */
static napi_value js_forward(napi_env env, napi_callback_info info) {
  const char *names[3] = {"x", "filter", "out"};
  float *a[3];
  size_t len[3];
  geometry g;
  if (!read_call(env, info, names, a, len, &g)) return NULL;
  if (!check_length(env, "x", len[0], image_size(g.batch, g.in_h, g.in_w, g.in_c)) ||
      !check_length(env, "filter", len[1], (size_t)g.kh * g.kw * g.in_c * g.out_c) ||
      !check_length(env, "out", len[2], image_size(g.batch, g.out_h, g.out_w, g.out_c)))
    return NULL;
  int packed_c = round_up(g.out_c, LANES);
  float *packed = pack_filter(a[1], g.kh * g.kw, g.in_c, g.out_c, packed_c);
  forward(&g, a[0], packed, packed_c, a[2]);
  free(packed);
  return NULL;
}

/* conv2dInputGradient(dy, filter, dx, geometry of the forward convolution), stride 1. */
static napi_value js_input_gradient(napi_env env, napi_callback_info info) {
  const char *names[3] = {"dy", "filter", "dx"};
  float *a[3];
  size_t len[3];
  geometry g;
  if (!read_call(env, info, names, a, len, &g)) return NULL;
  if (g.stride_h != 1 || g.stride_w != 1) {
    napi_throw_range_error(env, NULL, "the input gradient supports stride 1 only");
    return NULL;
  }
  if (!check_length(env, "dy", len[0], image_size(g.batch, g.out_h, g.out_w, g.out_c)) ||
      !check_length(env, "filter", len[1], (size_t)g.kh * g.kw * g.in_c * g.out_c) ||
      !check_length(env, "dx", len[2], image_size(g.batch, g.in_h, g.in_w, g.in_c)))
    return NULL;
  /* dx[iy] = Σ_a dy[iy + pt - a] w[a]: a forward convolution of dy with the flipped filter. */
  geometry back = {g.batch, g.out_h, g.out_w, g.out_c, g.in_h, g.in_w, g.in_c,
                   g.kh, g.kw, 1, 1, g.kh - 1 - g.pad_top, g.kw - 1 - g.pad_left};
  if (back.pad_top < 0 || back.pad_left < 0) {
    napi_throw_range_error(env, NULL, "padding larger than the filter is not supported");
    return NULL;
  }
  int packed_c = round_up(g.in_c, LANES);
  float *packed = pack_transposed_filter(a[1], g.kh, g.kw, g.in_c, g.out_c, packed_c);
  forward(&back, a[0], packed, packed_c, a[2]);
  free(packed);
  return NULL;
}

/* conv2dFilterGradient(x, dy, dw, geometry) */
static napi_value js_filter_gradient(napi_env env, napi_callback_info info) {
  const char *names[3] = {"x", "dy", "dw"};
  float *a[3];
  size_t len[3];
  geometry g;
  if (!read_call(env, info, names, a, len, &g)) return NULL;
  if (!check_length(env, "x", len[0], image_size(g.batch, g.in_h, g.in_w, g.in_c)) ||
      !check_length(env, "dy", len[1], image_size(g.batch, g.out_h, g.out_w, g.out_c)) ||
      !check_length(env, "dw", len[2], (size_t)g.kh * g.kw * g.in_c * g.out_c))
    return NULL;
  int packed_c = round_up(g.out_c, LANES);
  const float *dy = a[1];
  float *padded = NULL;
  if (packed_c != g.out_c) {
    /* Rows of dy padded with zero channels, so every vector load stays in bounds. */
    size_t pixels = image_size(g.batch, g.out_h, g.out_w, 1);
    padded = calloc(pixels * packed_c, sizeof(float));
    for (size_t p = 0; p < pixels; p++)
      memcpy(padded + p * packed_c, dy + p * g.out_c, (size_t)g.out_c * sizeof(float));
    dy = padded;
  }
  filter_gradient(&g, a[0], dy, packed_c, a[2]);
  free(padded);
  return NULL;
}

/* setThreads(n): how many threads later calls from this thread may use. */
static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t count = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 1 || napi_get_value_int32(env, argv[0], &count) != napi_ok || count < 1) {
    napi_throw_range_error(env, NULL, "setThreads expects a whole number of at least 1");
    return NULL;
  }
  omp_set_num_threads(count);
  return NULL;
}

/* threads(): how many threads each call may use. */
static napi_value js_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_int32(env, omp_get_max_threads(), &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"conv2dForward", NULL, js_forward, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dInputGradient", NULL, js_input_gradient, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dFilterGradient", NULL, js_filter_gradient, NULL, NULL, NULL, napi_default, NULL},
      {"threads", NULL, js_threads, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, js_set_threads, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
