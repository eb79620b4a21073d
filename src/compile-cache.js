// Loaded with `--import` before src/main.ts (`npm start`, the Docker image). It turns on Node's
// module compile cache, which also keeps the type-stripped text of every .ts module: a start that
// finds all of Leadline's modules there never loads Node's TypeScript stripper, whose WebAssembly
// and bundled source stay resident for the life of the process (~20 MB; see README, "Running in
// production"). Plain JavaScript because it has to run before that stripper would be loaded.
// NODE_COMPILE_CACHE, when set, wins (Node has then enabled the cache already).
import { enableCompileCache } from 'node:module';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

if (process.env.NODE_COMPILE_CACHE === undefined) {
  // Entries are keyed by file content, so an edited module is simply compiled again. A directory
  // that cannot be written only costs the saving, never the start.
  enableCompileCache(fileURLToPath(new URL('../node_modules/.cache/leadline-compile/', import.meta.url)));
}
