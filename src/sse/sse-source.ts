import { isObservable, Observable, of } from 'rxjs';
import { SseItem } from './sse-replay';

/**
 * A stream handler's Observable, passed through Nest's interceptor chain as a value instead of being
 * subscribed by it. Nest subscribes to an interceptor's `next.handle()` through several layers (a
 * deferred promise, `mergeAll`, the ExecutionContext and its arguments): all of them would live as
 * long as the stream. Handed over like this, Nest's chain completes at once and SseInterceptor
 * subscribes to the handler's events itself.
 */
export class SseSource {
  constructor(readonly events: Observable<SseItem>) {}
}

type Handler = (...args: unknown[]) => unknown;

/**
 * Makes `descriptor`'s handler return its Observable wrapped in an SseSource, keeping its name and
 * the metadata that decorators applied before this one put on it. Other results pass unchanged.
 */
export function returnSseSource<T>(descriptor: TypedPropertyDescriptor<T>): void {
  const original = descriptor.value as Handler;
  if (typeof original !== 'function') {
    return;
  }
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    const result = original.apply(this, args);
    return isObservable(result) ? of(new SseSource(result as Observable<SseItem>)) : result;
  };
  Object.defineProperty(wrapped, 'name', { value: original.name });
  for (const key of Reflect.getOwnMetadataKeys(original)) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapped);
  }
  descriptor.value = wrapped as T;
}
