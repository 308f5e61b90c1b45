// Builds the package: declarations (tsc), the ES module for Node and bundlers (eventsource-parser
// stays a dependency), and the browser module the gateway serves at /client/index.js, which has
// eventsource-parser inside so a page can import it without a bundler.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
rmSync(join(here, 'dist'), { recursive: true, force: true });
execFileSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', join(here, 'tsconfig.build.json')],
  {
    stdio: 'inherit',
  },
);
const common = {
  entryPoints: [join(here, 'src/index.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  logLevel: 'warning',
};
await build({
  ...common,
  platform: 'neutral',
  external: ['eventsource-parser'],
  outfile: join(here, 'dist/index.js'),
});
await build({
  ...common,
  platform: 'browser',
  minify: true,
  sourcemap: true,
  outfile: join(here, 'dist/browser/index.js'),
});
