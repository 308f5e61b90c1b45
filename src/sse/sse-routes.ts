import { RequestMethod } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { PATH_METADATA, RouteInfo } from './framework-internals';
import { SSE_ROUTE_OPTIONS } from './sse.constants';

/** The routes served through the SSE layer (every `@SseRoute()` handler), found from metadata. */
export function findSseRoutes(discovery: DiscoveryService): RouteInfo[] {
  const routes: RouteInfo[] = [];
  for (const { metatype } of discovery.getControllers()) {
    if (typeof metatype !== 'function') {
      continue;
    }
    const prototype = metatype.prototype as Record<string, unknown>;
    const base = pathsOf(Reflect.getMetadata(PATH_METADATA, metatype));
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const handler = prototype[name];
      if (typeof handler !== 'function' || !Reflect.getMetadata(SSE_ROUTE_OPTIONS, handler)) {
        continue;
      }
      for (const prefix of base) {
        for (const path of pathsOf(Reflect.getMetadata(PATH_METADATA, handler))) {
          const joined = [prefix, path].filter((part) => part !== '' && part !== '/').join('/');
          routes.push({ path: joined.replace(/^\/+/, ''), method: RequestMethod.GET });
        }
      }
    }
  }
  return routes;
}

function pathsOf(metadata: unknown): string[] {
  if (Array.isArray(metadata)) {
    return metadata.map(String);
  }
  return [typeof metadata === 'string' ? metadata : ''];
}
