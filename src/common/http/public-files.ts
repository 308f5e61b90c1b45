import { RequestHandler, static as serveStatic } from 'express';
import { existsSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * Serves the files of `root` (the reports page: plain files, no build step), and only those: the
 * paths are listed once at start, so every other request (a publish, a stream) goes on to the routes
 * without the file-system lookup that a static handler in front of them does for each one (a stat
 * in the thread pool: about a fifth of the CPU of opening a stream). A file added later is served
 * after a restart.
 */
export function publicFiles(root: string, index = 'index.html'): RequestHandler {
  const paths = new Set<string>();
  const walk = (dir: string, urlPath: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        walk(join(dir, entry.name), `${urlPath}${entry.name}/`);
      } else if (entry.isFile()) {
        paths.add(urlPath + entry.name);
        if (entry.name === index) {
          paths.add(urlPath); // the directory itself
          if (urlPath !== '/') {
            paths.add(urlPath.slice(0, -1)); // which the static handler redirects to its "/" form
          }
        }
      }
    }
  };
  // A checkout whose client package is not built yet serves the rest; `npm run build` builds both.
  if (existsSync(root)) {
    walk(root, '/');
  }
  const files = serveStatic(root, { index, maxAge: 0 });
  return (request, response, next) => {
    if ((request.method === 'GET' || request.method === 'HEAD') && paths.has(publicPathOf(request.url))) {
      files(request, response, next);
      return;
    }
    next();
  };
}

/** The URL's path, decoded and normalised as the static handler will see it ('' when it cannot be). */
function publicPathOf(url: string): string {
  const end = url.indexOf('?');
  const raw = end < 0 ? url : url.slice(0, end);
  try {
    return posix.normalize(decodeURIComponent(raw));
  } catch {
    return '';
  }
}
