import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve, sep } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * A fresh PGlite database folder, as initdb leaves it once closed, packed as a gzipped tar by the build
 * (build-pglite-template.ts). initdb grows PGlite's WebAssembly memory to several hundred MB that the
 * process never gets back; unpacking this copy instead costs a few MB and well under a second. Found from
 * dist/store and from src/store (the in-process tests) alike.
 */
export const PGLITE_TEMPLATE = resolve(__dirname, '..', '..', 'dist', 'store', 'pglite-template.tar.gz');

const BLOCK = 512;

/** Packs `folder` (regular files and folders only) as a gzipped ustar archive, readable by `tar` too. */
export function packPgliteTemplate(folder: string): Buffer {
  const blocks: Buffer[] = [];
  const add = (path: string): void => {
    const stat = statSync(path);
    const name = relative(folder, path).split(sep).join('/');
    if (stat.isDirectory()) {
      if (name !== '') {
        blocks.push(header(name, stat.mode, 0, '5'));
      }
      for (const entry of readdirSync(path).sort()) {
        add(join(path, entry));
      }
    } else if (stat.isFile()) {
      const content = readFileSync(path);
      blocks.push(
        header(name, stat.mode, content.length, '0'),
        content,
        Buffer.alloc(padding(content.length)),
      );
    } else {
      throw new Error(`PGlite template: ${path} is neither a file nor a folder`);
    }
  };
  add(folder);
  blocks.push(Buffer.alloc(2 * BLOCK));
  return gzipSync(Buffer.concat(blocks));
}

function header(name: string, mode: number, size: number, type: '0' | '5'): Buffer {
  if (Buffer.byteLength(name) > 100) {
    throw new Error(`PGlite template: ${name} is longer than a tar header holds`);
  }
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 'utf8');
  block.write(`${(mode & 0o777).toString(8).padStart(7, '0')}\0`, 100, 'ascii');
  block.write('0000000\0', 108, 'ascii'); // uid
  block.write('0000000\0', 116, 'ascii'); // gid
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  block.write('00000000000\0', 136, 'ascii'); // mtime: the same archive from the same folder
  block.write(type, 156, 'ascii');
  block.write('ustar\x0000', 257, 'binary');
  block.fill(' ', 148, 156); // the checksum counts its own field as spaces
  const checksum = block.reduce((sum, byte) => sum + byte, 0);
  block.write(`${checksum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/**
 * Unpacks a template made by packPgliteTemplate into `target`, which
 * must not exist: first into a sibling folder, renamed into place once complete, so a start that dies
 * halfway leaves no half-made database behind.
 */
export function unpackPgliteTemplate(template: string, target: string): void {
  const partial = `${target}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true, mode: 0o700 });
  try {
    unpackInto(gunzipSync(readFileSync(template)), partial, template);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    throw error;
  }
  renameSync(partial, target);
}

function unpackInto(tar: Buffer, folder: string, template: string): void {
  for (let offset = 0; offset + BLOCK <= tar.length;) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) {
      return; // the end-of-archive blocks
    }
    const prefix = field(header, 345, 155);
    const name = prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100);
    const mode = parseInt(field(header, 100, 8), 8) & 0o777;
    const size = parseInt(field(header, 124, 12), 8);
    const type = String.fromCharCode(header[156] || 0x30);
    const path = inside(folder, name);
    offset += BLOCK;
    if (type === '5') {
      mkdirSync(path, { recursive: true, mode });
    } else if (type === '0') {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, tar.subarray(offset, offset + size), { mode });
      offset += size + padding(size);
    } else {
      throw new Error(
        `PGlite template ${template}: entry ${name} has type ${JSON.stringify(type)}, not a file or folder`,
      );
    }
  }
}

function field(header: Buffer, start: number, length: number): string {
  const bytes = header.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return bytes
    .subarray(0, end === -1 ? length : end)
    .toString('utf8')
    .trim();
}

/** `name` (relative, or absolute as PGlite's own dumps write it) under `root`; never outside it. */
function inside(root: string, name: string): string {
  if (name.split('/').includes('..')) {
    throw new Error(`PGlite template: entry ${name} points outside the database folder`);
  }
  return join(root, normalize(`/${name}`));
}
