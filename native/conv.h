/* Convolution kernels of conv.c; module.c exposes them to JavaScript. */
#ifndef DDN_CONV_H
#define DDN_CONV_H

/* Shape of one convolution: NHWC images, [kh, kw, in_c, out_c] filters, dilation 1. */
typedef struct {
  int batch, in_h, in_w, in_c;
  int out_h, out_w, out_c;
  int kh, kw, stride_h, stride_w, pad_top, pad_left;
} geometry;

/* out [batch, out_h, out_w, out_c] = x [batch, in_h, in_w, in_c] convolved with w. */
void conv_forward(const geometry *g, const float *x, const float *w, float *out);

/* dx [batch, in_h, in_w, in_c] from dy [batch, out_h, out_w, out_c]; any stride. */
void conv_input_gradient(const geometry *g, const float *dy, const float *w, float *dx);

/* dw [kh, kw, in_c, out_c] from x and dy. */
void conv_filter_gradient(const geometry *g, const float *x, const float *dy, float *dw);

#endif
