import { PGlite } from '@electric-sql/pglite';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PGLITE_TEMPLATE } from './pglite-template';
import { PGLITE_OPTIONS } from './store-connection';

/**
 * Run by `npm run build`, after the compiler: makes dist/store/pglite-template/, a fresh PGlite database
 * (initdb only; the migrations run at start, as on any database), so that a first start on the embedded
 * store does not pay initdb's memory. This process pays it instead, once per build.
 */
async function main(): Promise<void> {
  // Beside its final place, so the rename below stays on one file system.
  const folder = mkdtempSync(join(dirname(PGLITE_TEMPLATE), 'pglite-template-'));
  try {
    // Closed before it is used, so the copy is a cleanly shut down database, not a running one's files.
    await (await PGlite.create(folder, PGLITE_OPTIONS)).close();
    rmSync(PGLITE_TEMPLATE, { recursive: true, force: true });
    renameSync(folder, PGLITE_TEMPLATE);
    console.log(`PGlite template: ${PGLITE_TEMPLATE}`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error('PGlite template: failed:', error);
  process.exit(1);
});
