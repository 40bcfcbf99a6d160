/**
 * Gradients of a 2-D convolution written as forward convolutions.
 *
 * The wasm backend of tfjs 4.22 has no `Conv2DBackpropFilter` kernel, and its
 * `Conv2DBackpropInput` kernel runs far slower than a forward `Conv2D` of the
 * same size. Both gradients below use only `Conv2D`, `Transpose`, `Reverse`,
 * `Reshape`, `PadV2` and `Slice`, which every backend has.
 *
 * Notation for one spatial axis (the width axis is the same): input height H,
 * output height Ho, filter height kh, stride s, top padding pt. The forward
 * convolution reads input row `i * s + a - pt` for output row i and filter
 * row a.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Spatial geometry of one convolution, as `backend_util.computeConv2DInfo` returns it. */
export type ConvGeometry = Pick<
  tf.backend_util.Conv2DInfo,
  | 'inHeight'
  | 'inWidth'
  | 'outHeight'
  | 'outWidth'
  | 'filterHeight'
  | 'filterWidth'
  | 'strideHeight'
  | 'strideWidth'
  | 'dilationHeight'
  | 'dilationWidth'
  | 'padInfo'
>;

/**
 * Computes the gradient of a convolution with respect to its filter.
 *
 * The sum `df[a, b, c, o] = Σ x[n, i*s + a - pt, j*s + b - pl, c] dy[n, i, j, o]`
 * is one forward convolution: the input transposed to `[inC, H, W, batch]`
 * (batch becomes the channel axis), with the output gradient transposed to
 * `[Ho, Wo, batch, outC]` as its filter, dilated by the stride, stride 1.
 * Its padding is the forward top padding, and at the bottom exactly what
 * makes the result kh rows tall. When the forward convolution never reads
 * the last rows of the input (valid padding with a stride that does not
 * divide evenly), that bottom amount is negative and those rows are cut off.
 *
 * @param x Forward input, `[batch, inHeight, inWidth, inChannels]`.
 * @param dy Output gradient, `[batch, outHeight, outWidth, outChannels]`.
 * @param geometry Geometry of the forward convolution (dilation 1).
 * @returns `[filterHeight, filterWidth, inChannels, outChannels]`.
 */
export function conv2dFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  geometry: ConvGeometry,
): tf.Tensor4D {
  const {
    inHeight,
    inWidth,
    outHeight,
    outWidth,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
    padInfo,
  } = geometry;
  assertNoDilation('conv2dFilterGradient', geometry);
  const [batchSize, , , inChannels] = x.shape;

  return tf.tidy(() => {
    // Padding after the last row and column that yields a kh × kw result.
    const padBottom =
      (outHeight - 1) * strideHeight + filterHeight - inHeight - padInfo.top;
    const padRight =
      (outWidth - 1) * strideWidth + filterWidth - inWidth - padInfo.left;

    // Rows and columns that the forward convolution never reads are dropped.
    let input = x;
    if (padBottom < 0 || padRight < 0) {
      input = tf.slice(x, [0, 0, 0, 0], [
        batchSize,
        inHeight + Math.min(padBottom, 0),
        inWidth + Math.min(padRight, 0),
        inChannels,
      ]); // [batch, H', W', inC]
    }

    const inputT = tf.transpose(input, [3, 1, 2, 0]); // [inC, H', W', batch]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, batch, outC]
    const padding: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [padInfo.top, Math.max(padBottom, 0)],
      [padInfo.left, Math.max(padRight, 0)],
      [0, 0],
    ];
    const gradient = tf.conv2d(inputT, dyT, 1, padding, 'NHWC', [
      strideHeight,
      strideWidth,
    ]); // [inC, kh, kw, outC]

    return tf.transpose(gradient, [1, 2, 0, 3]); // [kh, kw, inC, outC]
  });
}

/**
 * Computes the gradient of a convolution with respect to its input.
 *
 * With the output gradient spread out by the stride (s - 1 zeros after each
 * row and column), `dx[h] = Σ_a dyUp[h + pt - a] f[a]`, which is a stride-1
 * forward convolution with the spatially flipped filter, its in and out
 * channels swapped, and top padding `kh - 1 - pt`. The bottom padding is
 * whatever makes the result H rows tall; a negative amount cuts rows instead.
 *
 * @param dy Output gradient, `[batch, outHeight, outWidth, outChannels]`.
 * @param filter Forward filter, `[filterHeight, filterWidth, inChannels, outChannels]`.
 * @param geometry Geometry of the forward convolution (dilation 1).
 * @returns `[batch, inHeight, inWidth, inChannels]`.
 */
export function conv2dInputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
): tf.Tensor4D {
  const {
    inHeight,
    inWidth,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
    padInfo,
  } = geometry;
  assertNoDilation('conv2dInputGradient', geometry);

  return tf.tidy(() => {
    const spread = spreadByStride(dy, strideHeight, strideWidth); // [batch, Ho*s, Wo*s, outC]
    const [, spreadHeight, spreadWidth] = spread.shape;

    const padTop = filterHeight - 1 - padInfo.top;
    const padLeft = filterWidth - 1 - padInfo.left;
    const padBottom = inHeight + filterHeight - 1 - spreadHeight - padTop;
    const padRight = inWidth + filterWidth - 1 - spreadWidth - padLeft;
    const source = cropNegativePadding(spread, padTop, padBottom, padLeft, padRight);

    // Flip both spatial axes, then swap the channel axes.
    const flipped = tf.reverse(filter, [0, 1]); // [kh, kw, inC, outC]
    const flippedT = tf.transpose(flipped, [0, 1, 3, 2]); // [kh, kw, outC, inC]
    const padding: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [Math.max(padTop, 0), Math.max(padBottom, 0)],
      [Math.max(padLeft, 0), Math.max(padRight, 0)],
      [0, 0],
    ];
    return tf.conv2d(source, flippedT, 1, padding); // [batch, H, W, inC]
  });
}

/**
 * Inserts `strideHeight - 1` zero rows after every row and `strideWidth - 1`
 * zero columns after every column of an NHWC tensor.
 *
 * @param x `[batch, height, width, channels]`.
 * @returns `[batch, height * strideHeight, width * strideWidth, channels]`.
 */
function spreadByStride(
  x: tf.Tensor4D,
  strideHeight: number,
  strideWidth: number,
): tf.Tensor4D {
  if (strideHeight === 1 && strideWidth === 1) {
    return x;
  }
  const [batchSize, height, width, channels] = x.shape;
  const withAxes = tf.reshape(x, [batchSize, height, 1, width, 1, channels]);
  const padded = tf.pad(withAxes, [
    [0, 0],
    [0, 0],
    [0, strideHeight - 1],
    [0, 0],
    [0, strideWidth - 1],
    [0, 0],
  ]); // [batch, H, sh, W, sw, C]
  return tf.reshape(padded, [
    batchSize,
    height * strideHeight,
    width * strideWidth,
    channels,
  ]); // [batch, H*sh, W*sw, C]
}

/**
 * Removes the rows and columns that a negative padding amount asks to cut;
 * positive amounts are left for the convolution to apply.
 *
 * @param x `[batch, height, width, channels]`.
 * @returns `[batch, height', width', channels]` with the cut rows and columns removed.
 */
function cropNegativePadding(
  x: tf.Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
): tf.Tensor4D {
  const cutTop = Math.max(-top, 0);
  const cutBottom = Math.max(-bottom, 0);
  const cutLeft = Math.max(-left, 0);
  const cutRight = Math.max(-right, 0);
  if (cutTop + cutBottom + cutLeft + cutRight === 0) {
    return x;
  }
  const [batchSize, height, width, channels] = x.shape;
  return tf.slice(x, [0, cutTop, cutLeft, 0], [
    batchSize,
    height - cutTop - cutBottom,
    width - cutLeft - cutRight,
    channels,
  ]);
}

function assertNoDilation(opName: string, geometry: ConvGeometry): void {
  if (geometry.dilationHeight !== 1 || geometry.dilationWidth !== 1) {
    throw new Error(
      `${opName}: dilation must be 1, got ` +
        `[${geometry.dilationHeight}, ${geometry.dilationWidth}]`,
    );
  }
}
