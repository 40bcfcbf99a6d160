export { arithmeticDecode, arithmeticEncode, MAX_ARITHMETIC_K } from './arithmetic.js';
export { jpegAtPsnr, pngBytes, type JpegMatch } from './compare.js';
export { crc32 } from './crc32.js';
export {
  LATENT_MAGIC,
  LATENT_VERSION,
  MAX_LATENT_CODES,
  MAX_LATENT_IMAGES,
  MAX_LATENT_K,
  packedBits,
  readLatentFile,
  validateLatents,
  writeLatentFile,
  type LatentCoding,
  type LatentFile,
} from './format.js';
export { checkLatentFileMatchesModel, decodeTreeNodes } from './modelLatents.js';
export { LatentTreeClassifier, type TreePrediction } from './tree.js';
export { layoutTree, renderTree, TREE_CHILDREN_SHOWN, type TreeLayout, type TreeTile } from './treePicture.js';
