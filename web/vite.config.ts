/**
 * Vite config of the browser playground. `npm run web` serves it with hot
 * reload; `npm run web:build` writes static files to web/dist.
 *
 * The page imports the project's model code from ../src directly. A plugin
 * stops the build when that import graph reaches a Node-only module, such as
 * node:fs or sharp, because such a module would fail in the browser.
 */
import { fileURLToPath } from 'node:url';

import { defineConfig, type Plugin } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));

/** Bare names of the Node built-ins and native packages the project uses. */
const NODE_ONLY = /^(node:|sharp$|fs$|path$|os$|crypto$|zlib$|module$|worker_threads$|@tensorflow\/tfjs-node)/;

function rejectNodeOnlyImports(): Plugin {
  return {
    name: 'ddn-reject-node-only-imports',
    enforce: 'pre',
    resolveId(source, importer) {
      // Packages in node_modules map their own Node imports through their
      // "browser" fields; only the project's code is checked.
      if (importer === undefined || importer.includes('node_modules')) return null;
      if (NODE_ONLY.test(source)) {
        throw new Error(
          `${importer} imports '${source}', which does not run in a browser: ` +
            'import a module without Node dependencies instead',
        );
      }
      return null;
    },
  };
}

export default defineConfig({
  root: webRoot,
  // Relative asset paths, so the built folder works from any URL prefix.
  base: './',
  plugins: [rejectNodeOnlyImports()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // tfjs and its backends are large; one chunk per backend keeps the first load smaller.
    chunkSizeWarningLimit: 2000,
  },
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
});
