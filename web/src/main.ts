/**
 * The playground page: starts a tfjs backend, loads the model folder named
 * by `?model=` (default: the shipped MNIST model), and wires the panels.
 * `document.body.dataset.ready` turns 'true' once the first image is shown.
 */
import { bitsPerImage } from '../../src/model/config.js';
import { chooseBackend, requestedBackend } from './backend.js';
import { EditPanel } from './editPanel.js';
import { EncodePanel } from './encodePanel.js';
import { GeneratePanel } from './generatePanel.js';
import { type LoadedFolder, disposeFolder, filesReader, loadFolder, urlReader } from './modelFolder.js';
import { byId, showError } from './task.js';

const DEFAULT_MODEL = 'models/mnist/';

const pageError = byId<HTMLElement>('page-error');
const generatePanel = new GeneratePanel();
const editPanel = new EditPanel(() => generatePanel.current());
const encodePanel = new EncodePanel(() => generatePanel.current());
let folder: LoadedFolder | null = null;

function describeModel(loaded: LoadedFolder): string {
  const { config } = loaded.model;
  const ks = loaded.model.ks;
  const kText = new Set(ks).size === 1 ? `K = ${ks[0]}` : `K = ${ks.join('/')}`;
  const steps = typeof loaded.training?.steps === 'number' ? `, ${loaded.training.steps} training steps` : '';
  return (
    `${loaded.name}: ${config.paradigm}, ${config.imageSize}×${config.imageSize}×${config.imageChannels}, ` +
    `L = ${ks.length}, ${kText}, ${bitsPerImage(config).toFixed(0)} bits per image, ` +
    `${loaded.parameters.toLocaleString('en')} parameters${steps}`
  );
}

async function useFolder(loaded: LoadedFolder): Promise<void> {
  if (folder !== null) disposeFolder(folder);
  folder = loaded;
  const info = byId('model-info');
  info.textContent = describeModel(loaded);
  info.title = `weights SHA-256 ${loaded.weightsSha256}${loaded.checksumChecked ? ' (checked)' : ' (not checked: no Web Crypto here)'}`;
  await generatePanel.setFolder(loaded);
  editPanel.setFolder(loaded);
  encodePanel.setFolder(loaded);
}

async function start(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const badge = byId('backend');
  const choice = await chooseBackend(requestedBackend(location.search));
  badge.textContent = `backend: ${choice.name}`;
  badge.title = choice.skipped.length === 0 ? 'the first choice' : `skipped ${choice.skipped.map((s) => `${s.name} (${s.reason})`).join(', ')}`;
  document.body.dataset.backend = choice.name;
  const select = byId<HTMLSelectElement>('backend-select');
  select.value = requestedBackend(location.search) ?? '';
  select.addEventListener('change', () => {
    // tfjs keeps one backend per page, so switching reloads it.
    const next = new URLSearchParams(location.search);
    if (select.value === '') next.delete('backend');
    else next.set('backend', select.value);
    location.search = next.toString();
  });

  const modelPath = params.get('model') ?? DEFAULT_MODEL;
  await useFolder(await loadFolder(urlReader(modelPath), modelPath.replace(/\/$/, '')));

  const picker = byId<HTMLInputElement>('model-files');
  picker.addEventListener('change', async () => {
    const files = picker.files;
    if (files === null || files.length === 0) return;
    const name = files[0].webkitRelativePath.split('/')[0] || 'picked files';
    pageError.hidden = true;
    try {
      await useFolder(await loadFolder(filesReader(files), name));
    } catch (error) {
      showError(pageError, error);
    }
    picker.value = '';
  });
  document.body.dataset.ready = 'true';
}

start().catch((error: unknown) => {
  showError(pageError, error);
  document.body.dataset.ready = 'error';
});
