/*
 * The Node-API face of the kernels in conv.c and ops.c: argument checks, then
 * one call each. Every size is checked against the arrays' lengths before a
 * kernel runs, so a wrong call throws instead of touching memory it does not
 * own.
 */
#include <node_api.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>

#include "conv.h"
#include "ops.h"

#define CONV_DIMS 13

/*
 * Raised whenever a function's arguments change, so that JavaScript built
 * for one version refuses a module built from another (src/backend/native.ts).
 */
#define API_VERSION 5

static void throw_range(napi_env env, const char *message) { napi_throw_range_error(env, NULL, message); }

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

/* Reads an Int32Array of exactly `count` numbers; returns NULL after throwing. */
static const int *int_array(napi_env env, napi_value value, const char *name, size_t count) {
  napi_typedarray_type type;
  size_t length;
  void *pointer = NULL;
  if (napi_get_typedarray_info(env, value, &type, &length, &pointer, NULL, NULL) != napi_ok ||
      type != napi_int32_array || length != count) {
    char message[96];
    snprintf(message, sizeof message, "%s must be an Int32Array of %zu numbers", name, count);
    napi_throw_type_error(env, NULL, message);
    return NULL;
  }
  return pointer;
}

/* Throws unless `length` equals `expected`; returns whether it does. */
static int check_length(napi_env env, const char *name, size_t length, size_t expected) {
  if (length == expected) return 1;
  char message[160];
  snprintf(message, sizeof message, "%s holds %zu floats, the shape needs %zu", name, length, expected);
  throw_range(env, message);
  return 0;
}

/* Gets exactly `count` arguments; returns 0 after throwing. */
static int arguments(napi_env env, napi_callback_info info, size_t count, napi_value *argv) {
  size_t argc = count;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != count) {
    char message[64];
    snprintf(message, sizeof message, "expected %zu arguments", count);
    napi_throw_type_error(env, NULL, message);
    return 0;
  }
  return 1;
}

/* ---- convolutions: (first, second, result, geometry) ---- */

typedef void (*conv_fn)(const geometry *, const float *, const float *, float *);

static size_t image_size(int batch, int h, int w, int c) { return (size_t)batch * h * w * c; }

/*
 * Shared body of the three convolution entry points. `roles` names which
 * arrays are images at the input side (i), the output side (o) or filters (f).
 */
static napi_value conv_call(napi_env env, napi_callback_info info, const char *names[3],
                            const char roles[3], conv_fn kernel) {
  napi_value argv[4];
  if (!arguments(env, info, 4, argv)) return NULL;
  float *arrays[3];
  size_t lengths[3];
  for (int i = 0; i < 3; i++)
    if (!float_array(env, argv[i], names[i], &arrays[i], &lengths[i])) return NULL;
  const int *d = int_array(env, argv[3], "geometry", CONV_DIMS);
  if (d == NULL) return NULL;
  for (int i = 0; i < CONV_DIMS; i++) {
    if (d[i] < (i >= 11 ? 0 : 1)) {
      throw_range(env, "geometry has a size below 1 or a negative padding");
      return NULL;
    }
  }
  geometry g = {d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12]};
  for (int i = 0; i < 3; i++) {
    size_t expected = roles[i] == 'i'   ? image_size(g.batch, g.in_h, g.in_w, g.in_c)
                      : roles[i] == 'o' ? image_size(g.batch, g.out_h, g.out_w, g.out_c)
                                        : (size_t)g.kh * g.kw * g.in_c * g.out_c;
    if (!check_length(env, names[i], lengths[i], expected)) return NULL;
  }
  kernel(&g, arrays[0], arrays[1], arrays[2]);
  return NULL;
}

/* conv2dForward(x, filter, out, geometry) */
static napi_value js_forward(napi_env env, napi_callback_info info) {
  const char *names[3] = {"x", "filter", "out"};
  return conv_call(env, info, names, "ifo", conv_forward);
}

/* conv2dInputGradient(dy, filter, dx, geometry of the forward convolution) */
static napi_value js_input_gradient(napi_env env, napi_callback_info info) {
  const char *names[3] = {"dy", "filter", "dx"};
  return conv_call(env, info, names, "ofi", conv_input_gradient);
}

/* conv2dFilterGradient(x, dy, dw, geometry) */
static napi_value js_filter_gradient(napi_env env, napi_callback_info info) {
  const char *names[3] = {"x", "dy", "dw"};
  return conv_call(env, info, names, "iof", conv_filter_gradient);
}

/* ---- binary(op, x, xSteps, y, ySteps, out, dims) ---- */

/* One past the last index that steps `s` reach over `dims`. */
static size_t reach(const ptrdiff_t s[3], const ptrdiff_t dims[3]) {
  return (size_t)((dims[0] - 1) * s[0] + (dims[1] - 1) * s[1] + (dims[2] - 1) * s[2] + 1);
}

static napi_value js_binary(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!arguments(env, info, 7, argv)) return NULL;
  int op;
  if (napi_get_value_int32(env, argv[0], &op) != napi_ok || op < 0 || op >= BINARY_OP_COUNT) {
    throw_range(env, "op must be a whole number from 0 to 4");
    return NULL;
  }

  float *x, *y, *out;
  size_t x_length, y_length, out_length;
  const int *xs32, *ys32, *d32;
  if (!float_array(env, argv[1], "x", &x, &x_length) ||
      (xs32 = int_array(env, argv[2], "xSteps", 3)) == NULL ||
      !float_array(env, argv[3], "y", &y, &y_length) ||
      (ys32 = int_array(env, argv[4], "ySteps", 3)) == NULL ||
      !float_array(env, argv[5], "out", &out, &out_length) ||
      (d32 = int_array(env, argv[6], "dims", 3)) == NULL)
    return NULL;

  ptrdiff_t xs[3], ys[3], dims[3];
  for (int i = 0; i < 3; i++) {
    xs[i] = xs32[i];
    ys[i] = ys32[i];
    dims[i] = d32[i];
    if (dims[i] < 1 || xs[i] < 0 || ys[i] < 0 || (i == 2 && (xs[i] > 1 || ys[i] > 1))) {
      throw_range(env, "dims must be at least 1; steps at least 0, the last 0 or 1");
      return NULL;
    }
  }
  if (!check_length(env, "out", out_length, (size_t)(dims[0] * dims[1] * dims[2]))) return NULL;
  if (x_length < reach(xs, dims) || y_length < reach(ys, dims)) {
    throw_range(env, "x or y is shorter than its steps reach");
    return NULL;
  }

  binary_op((binary_op_kind)op, x, xs, y, ys, out, dims);
  return NULL;
}

/* ---- sum(x, out, [outer, middle, inner], scale) ---- */

static napi_value js_sum(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  double scale;
  if (!arguments(env, info, 4, argv)) return NULL;
  if (napi_get_value_double(env, argv[3], &scale) != napi_ok) {
    napi_throw_type_error(env, NULL, "scale must be a number");
    return NULL;
  }
  float *x, *out;
  size_t x_length, out_length;
  const int *d;
  if (!float_array(env, argv[0], "x", &x, &x_length) ||
      !float_array(env, argv[1], "out", &out, &out_length) ||
      (d = int_array(env, argv[2], "dims", 3)) == NULL)
    return NULL;
  if (d[0] < 1 || d[1] < 1 || d[2] < 1) {
    throw_range(env, "dims must be at least 1");
    return NULL;
  }
  if (!check_length(env, "x", x_length, (size_t)d[0] * d[1] * d[2]) ||
      !check_length(env, "out", out_length, (size_t)d[0] * d[2]))
    return NULL;
  sum_axes(x, out, d[0], d[1], d[2], (float)scale);
  return NULL;
}

/* ---- concat(out, inputs, widths, outer) ---- */

#define CONCAT_MAX 64

static napi_value js_concat(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!arguments(env, info, 4, argv)) return NULL;
  float *out;
  size_t out_length;
  uint32_t count = 0;
  int32_t outer;
  if (!float_array(env, argv[0], "out", &out, &out_length)) return NULL;
  if (napi_get_array_length(env, argv[1], &count) != napi_ok || count < 1 || count > CONCAT_MAX) {
    throw_range(env, "inputs must be an array of 1 to 64 Float32Arrays");
    return NULL;
  }
  const int *w = int_array(env, argv[2], "widths", count);
  if (w == NULL) return NULL;
  if (napi_get_value_int32(env, argv[3], &outer) != napi_ok || outer < 1) {
    throw_range(env, "outer must be a whole number of at least 1");
    return NULL;
  }

  const float *inputs[CONCAT_MAX];
  ptrdiff_t widths[CONCAT_MAX];
  size_t total = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    float *data;
    size_t length;
    napi_get_element(env, argv[1], i, &element);
    if (!float_array(env, element, "each input", &data, &length)) return NULL;
    if (w[i] < 1) {
      throw_range(env, "widths must be at least 1");
      return NULL;
    }
    if (!check_length(env, "an input", length, (size_t)outer * w[i])) return NULL;
    inputs[i] = data;
    widths[i] = w[i];
    total += (size_t)w[i];
  }
  if (!check_length(env, "out", out_length, (size_t)outer * total)) return NULL;

  concat_rows(out, inputs, widths, (int)count, outer);
  return NULL;
}

/* ---- matmul(a, b, out, [batch, batchA, batchB, m, k, n, transposeA, transposeB]) ---- */

static napi_value js_matmul(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!arguments(env, info, 4, argv)) return NULL;
  float *a, *b, *out;
  size_t a_length, b_length, out_length;
  const int *d;
  if (!float_array(env, argv[0], "a", &a, &a_length) ||
      !float_array(env, argv[1], "b", &b, &b_length) ||
      !float_array(env, argv[2], "out", &out, &out_length) ||
      (d = int_array(env, argv[3], "shape", 8)) == NULL)
    return NULL;
  matmul_shape s = {d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]};
  if (s.batch < 1 || s.m < 1 || s.k < 1 || s.n < 1 || (s.batch_a != 1 && s.batch_a != s.batch) ||
      (s.batch_b != 1 && s.batch_b != s.batch)) {
    throw_range(env, "matmul sizes must be at least 1, and each batch 1 or the output batch");
    return NULL;
  }
  if (!check_length(env, "a", a_length, (size_t)(s.batch_a * s.m * s.k)) ||
      !check_length(env, "b", b_length, (size_t)(s.batch_b * s.k * s.n)) ||
      !check_length(env, "out", out_length, (size_t)(s.batch * s.m * s.n)))
    return NULL;
  batch_matmul(a, b, out, &s);
  return NULL;
}

/* ---- sigmoid(x, out) ---- */

static napi_value js_sigmoid(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!arguments(env, info, 2, argv)) return NULL;
  float *x, *out;
  size_t x_length, out_length;
  if (!float_array(env, argv[0], "x", &x, &x_length) || !float_array(env, argv[1], "out", &out, &out_length) ||
      !check_length(env, "out", out_length, x_length))
    return NULL;
  sigmoid(x, out, (ptrdiff_t)x_length);
  return NULL;
}

/* ---- adam(p, g, m, v, pOut, mOut, vOut, constants) ---- */

static napi_value js_adam(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!arguments(env, info, 8, argv)) return NULL;
  static const char *names[8] = {"p", "g", "m", "v", "pOut", "mOut", "vOut", "constants"};
  float *arrays[8];
  size_t lengths[8];
  for (int i = 0; i < 8; i++)
    if (!float_array(env, argv[i], names[i], &arrays[i], &lengths[i])) return NULL;
  for (int i = 1; i < 7; i++)
    if (!check_length(env, names[i], lengths[i], lengths[0])) return NULL;
  if (!check_length(env, "constants", lengths[7], ADAM_CONSTANTS)) return NULL;
  adam_step(arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5], arrays[6], (ptrdiff_t)lengths[0],
            arrays[7]);
  return NULL;
}

/* ---- threads ---- */

/* setThreads(n): how many threads later calls from this thread may use. */
static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t count = 0;
  if (!arguments(env, info, 1, argv)) return NULL;
  if (napi_get_value_int32(env, argv[0], &count) != napi_ok || count < 1) {
    throw_range(env, "setThreads expects a whole number of at least 1");
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

/* apiVersion(): the version of the functions' arguments. */
static napi_value js_api_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_int32(env, API_VERSION, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"conv2dForward", NULL, js_forward, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dInputGradient", NULL, js_input_gradient, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dFilterGradient", NULL, js_filter_gradient, NULL, NULL, NULL, napi_default, NULL},
      {"binary", NULL, js_binary, NULL, NULL, NULL, napi_default, NULL},
      {"sum", NULL, js_sum, NULL, NULL, NULL, napi_default, NULL},
      {"matmul", NULL, js_matmul, NULL, NULL, NULL, napi_default, NULL},
      {"concat", NULL, js_concat, NULL, NULL, NULL, napi_default, NULL},
      {"sigmoid", NULL, js_sigmoid, NULL, NULL, NULL, napi_default, NULL},
      {"adam", NULL, js_adam, NULL, NULL, NULL, napi_default, NULL},
      {"apiVersion", NULL, js_api_version, NULL, NULL, NULL, napi_default, NULL},
      {"threads", NULL, js_threads, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, js_set_threads, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
