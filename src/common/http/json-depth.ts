import { BadRequestException } from '@nestjs/common';
import { RequestHandler } from 'express';

/**
 * Refuses a parsed JSON body that nests deeper than `maxDepth` arrays and objects, before anything
 * walks it recursively: class-transformer and the ValidationPipe recurse once per level and overflow
 * the stack at about 1,500 levels, which a 64 KB body easily reaches. The walk here uses its own stack.
 */
export function jsonDepthLimit(maxDepth: number): RequestHandler {
  return (request, _response, next) => {
    const body: unknown = request.body;
    if (typeof body === 'object' && body !== null && nestsDeeperThan(body, maxDepth)) {
      next(
        new BadRequestException(
          `The JSON body nests arrays and objects deeper than ${maxDepth} levels (BODY_JSON_MAX_DEPTH)`,
        ),
      );
      return;
    }
    next();
  };
}

export function nestsDeeperThan(root: object, maxDepth: number): boolean {
  const pending: [object, number][] = [[root, 1]];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [value, depth] = item;
    if (depth > maxDepth) {
      return true;
    }
    for (const child of Object.values(value) as unknown[]) {
      if (typeof child === 'object' && child !== null) {
        pending.push([child, depth + 1]);
      }
    }
  }
  return false;
}
