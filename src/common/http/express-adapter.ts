import { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import * as http from 'node:http';

/**
 * Nest's Express adapter, with a server whose requests and responses are born with Express's own
 * prototypes (`app.request`, `app.response`).
 *
 * Express gives each request and response those prototypes with `Object.setPrototypeOf` as it
 * starts handling them, and V8 then often makes a hidden class (a map and its descriptor array) for
 * that one object: about 1.6 KB per request, which an idle SSE stream keeps as long as it is open.
 * Here the server creates them as instances of subclasses of Node's classes whose prototypes are
 * `app.request` and `app.response` (same properties, same chain), so Express's `setPrototypeOf`
 * changes nothing and every request shares one hidden class. Everything else is Nest's adapter.
 */
export class SharedShapeExpressAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    if (options?.httpsOptions) {
      super.initHttpServer(options); // HTTPS keeps Node's classes: not used by this service
      return;
    }
    const app = this.getInstance<http.RequestListener & { request: object; response: object }>();
    const IncomingMessage = adopt(http.IncomingMessage, app.request);
    const ServerResponse = adopt(http.ServerResponse, app.response);
    app.request = IncomingMessage.prototype;
    app.response = ServerResponse.prototype;
    super.initHttpServer(options);
    const plain = this.getHttpServer() as http.Server;
    plain.removeAllListeners('request'); // never listened: replaced by the server below
    this.setHttpServer(http.createServer({ IncomingMessage, ServerResponse }, app));
  }
}

/**
 * A subclass of `Base` whose prototype takes the place of `current` (Express's per-app prototype):
 * it inherits from what `current` inherits from and has `current`'s own properties (`app`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a mixin's base must take any[]
function adopt<T extends new (...args: any[]) => object>(Base: T, current: object): T {
  const Adopted = class extends Base {};
  Object.defineProperty(Adopted, 'name', { value: Base.name }); // as Node's, in heap snapshots too
  Object.setPrototypeOf(Adopted.prototype, Object.getPrototypeOf(current) as object);
  for (const key of Reflect.ownKeys(current)) {
    Object.defineProperty(Adopted.prototype, key, Object.getOwnPropertyDescriptor(current, key)!);
  }
  return Adopted;
}
