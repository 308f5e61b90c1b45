import { PGlite } from '@electric-sql/pglite';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packPgliteTemplate, PGLITE_TEMPLATE } from './pglite-template';
import { PGLITE_OPTIONS } from './store-connection';

/**
 * Run by `npm run build`, after the compiler: makes dist/store/pglite-template.tar.gz, a fresh PGlite
 * database (initdb only; the migrations run at start, as on any database), so that a first start on the
 * embedded store does not pay initdb's memory. This process pays it instead, once per build.
 */
async function main(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'pglite-template-'));
  try {
    // Closed before packing, so the copy is a cleanly shut down database, not a running one's files.
    await (await PGlite.create(folder, PGLITE_OPTIONS)).close();
    const tarball = packPgliteTemplate(folder);
    writeFileSync(`${PGLITE_TEMPLATE}.partial`, tarball);
    renameSync(`${PGLITE_TEMPLATE}.partial`, PGLITE_TEMPLATE);
    console.log(`PGlite template: ${PGLITE_TEMPLATE} (${Math.round(tarball.length / 1024)} KB)`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error('PGlite template: failed:', error);
  process.exit(1);
});
