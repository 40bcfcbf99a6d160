export { initBackend, type BackendInfo, type BackendName } from './select.js';
export { conv2d } from './conv.js';
export {
  conv2dFilterGradient,
  conv2dInputGradient,
  type ConvGeometry,
} from './convBackprop.js';
export { registerWasmConvKernels } from './wasmKernels.js';
export { registerAllGradients } from './gradients.js';
