export { writeFileAtomic } from './atomic.js';
export { sha256Hex } from './hash.js';
export {
  readSafetensors,
  writeSafetensors,
  type SafetensorsContent,
  type SafetensorsDtype,
  type SafetensorsTensor,
} from './safetensors.js';
