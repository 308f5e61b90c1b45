import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreConnection } from '../store-connection';

/**
 * For unit specs: a migrated PGlite database of its own in a temporary folder (copied from the build's
 * template, so `npm run build` first keeps it fast), and how to close and delete it.
 */
export async function openTemporaryStore(): Promise<{ store: StoreConnection; remove: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'store-spec-'));
  const store = await StoreConnection.open({ dataDir }, { log: () => undefined, error: () => undefined });
  return {
    store,
    remove: async () => {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
