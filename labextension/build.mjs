// Builds the federated labextension with @jupyterlab/builder. The packages JupyterLab shares
// with extensions (its "core") come from @jupyterlab/core-meta, an npm package, so the build
// needs neither a particular Python environment nor the network. `jlpm build` runs this.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const meta = dirname(require.resolve('@jupyterlab/core-meta/package.json'));
// build-labextension reads the core's package.json from a folder: give it one.
const core = join(here, 'node_modules', '.nbshare-core');
mkdirSync(core, { recursive: true });
copyFileSync(join(meta, 'core.package.json'), join(core, 'package.json'));

const builder = require.resolve('@jupyterlab/builder/lib/build-labextension.js');
const args = [builder, '--core-path', core, ...process.argv.slice(2), here];
const run = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(run.status ?? 1);
