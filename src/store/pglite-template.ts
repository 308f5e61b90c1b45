import { cpSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * A fresh PGlite database folder, as initdb leaves it once closed, made by the build
 * (build-pglite-template.ts). initdb grows PGlite's WebAssembly memory to several hundred MB that the
 * process never gets back; copying this folder instead costs no memory and about a tenth of a second.
 * (A packed copy was 4 MB instead of 40 MB, but unpacking it held the whole database in memory or took
 * a second.) Found from dist/store and from src/store (the in-process tests) alike.
 */
export const PGLITE_TEMPLATE = resolve(__dirname, '..', '..', 'dist', 'store', 'pglite-template');

/**
 * Copies the template into `target`, which must not exist or be empty: first into a sibling folder,
 * renamed into place once complete, so a start that dies halfway leaves no half-made database behind.
 */
export function copyPgliteTemplate(template: string, target: string): void {
  const partial = `${target}.partial`;
  rmSync(partial, { recursive: true, force: true });
  try {
    cpSync(template, partial, { recursive: true, errorOnExist: true, force: false });
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    throw error;
  }
  renameSync(partial, target);
}
