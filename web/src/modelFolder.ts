/**
 * Loads a model folder written by `ddn export` (or a plain run folder)
 * into the page: the model, the optional classifier and example images.
 * Files come from a URL prefix through fetch, or from files the user picked.
 * Weights are checked against the size and SHA-256 that config.json records,
 * then parsed by the project's safetensors reader.
 */
import { Classifier, type ClassifierConfig, validateClassifierConfig } from '../../src/classifier/cnn.js';
import { DdnError } from '../../src/errors.js';
import { type SafetensorsTensor, readSafetensors } from '../../src/io/safetensors.js';
import { type ModelConfig, validateConfig } from '../../src/model/config.js';
import { DdnModel } from '../../src/model/model.js';
import type { ParamStore } from '../../src/model/params.js';

/** File names of an export; they match src/cli/export.ts and src/io/modelDir.ts. */
const EXPORT_FILE = 'export.json';
const CONFIG_FILE = 'config.json';
const WEIGHTS_FILE = 'model.safetensors';
const CLASSIFIER_CONFIG_FILE = 'config.json';
const CLASSIFIER_WEIGHTS_FILE = 'classifier.safetensors';

/** Reads one file of the folder by relative path; null when it is absent. */
export type FolderReader = (path: string) => Promise<Uint8Array | null>;

export interface ExampleImages {
  /** [n, S, S, c] in [0, 1]. */
  images: Float32Array;
  /** [n], or null when the data has no labels. */
  labels: Int32Array | null;
  count: number;
  source: string;
}

export interface LoadedFolder {
  name: string;
  model: DdnModel;
  parameters: number;
  /** SHA-256 of model.safetensors, as config.json records it. */
  weightsSha256: string;
  /** False when the browser offers no SHA-256 (pages served over plain http to another host). */
  checksumChecked: boolean;
  training: Record<string, unknown> | undefined;
  classifier: Classifier | null;
  classifierConfig: ClassifierConfig | null;
  /** The reason class guidance is off, or null when a classifier is loaded. */
  classifierMissing: string | null;
  examples: ExampleImages | null;
}

interface ExportManifest {
  format: string;
  classifier: string | null;
  examples: { file: string } | null;
}

/** Reads files under a URL prefix such as `models/mnist/`. */
export function urlReader(base: string): FolderReader {
  const prefix = base.endsWith('/') ? base : `${base}/`;
  return async (path) => {
    const response = await fetch(new URL(prefix + path, document.baseURI));
    if (response.status === 404) return null;
    if (!response.ok) {
      throw new DdnError(`${prefix + path}: HTTP ${response.status} ${response.statusText}`);
    }
    return new Uint8Array(await response.arrayBuffer());
  };
}

/**
 * Reads from files the user picked, by their path inside the picked folder
 * (or by bare name when single files were picked).
 */
export function filesReader(files: FileList | File[]): FolderReader {
  const byPath = new Map<string, File>();
  for (const file of Array.from(files)) {
    const relative = file.webkitRelativePath === '' ? file.name : file.webkitRelativePath.split('/').slice(1).join('/');
    byPath.set(relative, file);
  }
  return async (path) => {
    const file = byPath.get(path);
    return file === undefined ? null : new Uint8Array(await file.arrayBuffer());
  };
}

function parseJson(bytes: Uint8Array, source: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new DdnError(`${source}: invalid JSON (${(error as Error).message})`);
  }
}

async function sha256Hex(bytes: Uint8Array): Promise<string | null> {
  if (globalThis.crypto?.subtle === undefined) return null;
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Checks size and SHA-256 against config.json; returns whether the hash was checked. */
async function checkWeights(bytes: Uint8Array, expected: { bytes: number; sha256: string }, source: string): Promise<boolean> {
  if (bytes.length !== expected.bytes) {
    throw new DdnError(`${source}: expected ${expected.bytes} bytes as config.json records, got ${bytes.length}`);
  }
  const hash = await sha256Hex(bytes);
  if (hash !== null && hash !== expected.sha256) {
    throw new DdnError(`${source}: SHA-256 does not match config.json (the file is damaged or was replaced)`);
  }
  return hash !== null;
}

/** Copies F32 tensors into the parameters, checking names and shapes. */
function assignParams(params: ParamStore, tensors: Record<string, SafetensorsTensor>, source: string): void {
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, tensor] of Object.entries(tensors)) {
    if (tensor.dtype !== 'F32') {
      throw new DdnError(`${source}: weight '${name}' has dtype ${tensor.dtype}, expected F32`);
    }
    weights.set(name, { shape: tensor.shape, data: tensor.data as Float32Array });
  }
  params.assign(weights, source);
}

async function required(read: FolderReader, path: string, folder: string): Promise<Uint8Array> {
  const bytes = await read(path);
  if (bytes === null) {
    throw new DdnError(`${folder}: ${path} is missing (export a model with 'ddn export --model RUN_DIR --out DIR')`);
  }
  return bytes;
}

/** Loads the model, then the classifier and examples that export.json lists. */
export async function loadFolder(read: FolderReader, name: string): Promise<LoadedFolder> {
  const manifestBytes = await read(EXPORT_FILE);
  const manifest = manifestBytes === null ? null : (parseJson(manifestBytes, `${name}/${EXPORT_FILE}`) as ExportManifest);
  if (manifest !== null && manifest.format !== 'ddn-web-export') {
    throw new DdnError(`${name}/${EXPORT_FILE}: not an export manifest (expected "format": "ddn-web-export")`);
  }

  // The model: config.json, then weights checked against it.
  const configSource = `${name}/${CONFIG_FILE}`;
  const file = parseJson(await required(read, CONFIG_FILE, name), configSource) as {
    format?: string;
    config?: unknown;
    parameters?: number;
    weights?: { bytes: number; sha256: string };
    training?: Record<string, unknown>;
  };
  if (file.format !== 'ddn-model' || file.weights === undefined) {
    throw new DdnError(`${configSource}: not a DDN model config (expected "format": "ddn-model")`);
  }
  const config: ModelConfig = validateConfig(file.config, configSource);
  checkUnconditional(config, configSource);
  const weightsSource = `${name}/${WEIGHTS_FILE}`;
  const weightBytes = await required(read, WEIGHTS_FILE, name);
  const checksumChecked = await checkWeights(weightBytes, file.weights, weightsSource);
  const model = new DdnModel(config);
  try {
    assignParams(model.params, readSafetensors(weightBytes, weightsSource).tensors, weightsSource);
  } catch (error) {
    model.dispose();
    throw error;
  }

  const classifier = await loadClassifier(read, name, manifest, config);
  const examples = manifest?.examples ? await loadExamples(read, manifest.examples.file, name, config) : null;
  return {
    name,
    model,
    parameters: model.params.count(),
    weightsSha256: file.weights.sha256,
    checksumChecked,
    training: file.training,
    ...classifier,
    examples,
  };
}

/**
 * Rejects models that need a condition input (class or image conditioned
 * training), which the page cannot yet supply.
 */
function checkUnconditional(config: ModelConfig, source: string): void {
  // NOTE: `condition` is read loosely because conditional training is newer
  // than this page; an unconditional model has no such field or 'none'.
  const condition = (config as { condition?: unknown }).condition;
  if (condition !== undefined && condition !== 'none') {
    throw new DdnError(`${source}: the model is conditioned on '${String(condition)}', which the playground does not support yet`);
  }
}

async function loadClassifier(
  read: FolderReader,
  name: string,
  manifest: ExportManifest | null,
  config: ModelConfig,
): Promise<Pick<LoadedFolder, 'classifier' | 'classifierConfig' | 'classifierMissing'>> {
  if (manifest === null || manifest.classifier === null) {
    return {
      classifier: null,
      classifierConfig: null,
      classifierMissing:
        'this model folder has no classifier. Export it with ' +
        "'ddn export --model RUN_DIR --out DIR --classifier CLASSIFIER_DIR' to guide by class",
    };
  }

  // The classifier's config, checked against the model.
  const folder = manifest.classifier.endsWith('/') ? manifest.classifier : `${manifest.classifier}/`;
  const source = `${name}/${folder}${CLASSIFIER_CONFIG_FILE}`;
  const file = parseJson(await required(read, folder + CLASSIFIER_CONFIG_FILE, name), source) as {
    config?: unknown;
    weights?: { bytes: number; sha256: string };
  };
  if (file.weights === undefined) {
    throw new DdnError(`${source}: not a classifier config (the "weights" entry is missing)`);
  }
  const classifierConfig = validateClassifierConfig(file.config, source);
  if (classifierConfig.imageChannels !== config.imageChannels) {
    throw new DdnError(
      `${source}: the classifier takes ${classifierConfig.imageChannels}-channel images, ` +
        `the model makes ${config.imageChannels}-channel images`,
    );
  }

  // Its weights, checked against the config.
  const weightsSource = `${name}/${folder}${CLASSIFIER_WEIGHTS_FILE}`;
  const bytes = await required(read, folder + CLASSIFIER_WEIGHTS_FILE, name);
  await checkWeights(bytes, file.weights, weightsSource);
  const classifier = new Classifier(classifierConfig);
  try {
    assignParams(classifier.params, readSafetensors(bytes, weightsSource).tensors, weightsSource);
  } catch (error) {
    classifier.dispose();
    throw error;
  }
  return { classifier, classifierConfig, classifierMissing: null };
}

async function loadExamples(read: FolderReader, path: string, name: string, config: ModelConfig): Promise<ExampleImages> {
  const source = `${name}/${path}`;
  const content = readSafetensors(await required(read, path, name), source);
  const images = content.tensors.images;
  const { imageSize: size, imageChannels: channels } = config;
  if (images === undefined || images.dtype !== 'F32' || images.shape.length !== 4) {
    throw new DdnError(`${source}: expected an F32 tensor 'images' [n, S, S, c]`);
  }
  const [count, height, width, imageChannels] = images.shape;
  if (height !== size || width !== size || imageChannels !== channels) {
    throw new DdnError(`${source}: images are ${height}×${width}×${imageChannels}, the model makes ${size}×${size}×${channels}`);
  }
  const labels = content.tensors.labels;
  return {
    images: images.data as Float32Array,
    labels: labels !== undefined && labels.dtype === 'I32' ? (labels.data as Int32Array) : null,
    count,
    source: content.metadata.source ?? path,
  };
}

/** Frees the tensors of a loaded folder. */
export function disposeFolder(folder: LoadedFolder): void {
  folder.model.dispose();
  folder.classifier?.dispose();
}
