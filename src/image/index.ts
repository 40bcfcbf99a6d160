export { encodePng, readImage, writePng } from './codec.js';
export { makeGrid, type GridOptions } from './grid.js';
export {
  renderLossCurveSvg,
  writeLossCurveSvg,
  type LossCurveOptions,
  type LossSeries,
} from './lossCurve.js';
export { padTo, resizeArea, resizeBilinear, type ImageSize } from './resize.js';
export { createImage, toRgb, type ImageData32 } from './types.js';
