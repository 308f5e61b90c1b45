import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Request } from 'express';
import { accessRefusal } from '../auth/access-check';
import { AuthenticatedRequest } from '../auth/access.guard';
import { NumericSetting, StreamUser } from '../sse/sse.constants';
import { RequestedStream, StreamCatalog } from './stream-catalog';

const STREAMS = Symbol('requested streams');
type WithStreams = Request & { [STREAMS]?: RequestedStream[] };

/**
 * Reads the `stream` names of a request (a 400 naming any that is malformed, unknown or repeated)
 * and, when AccessGuard verified a token (AUTH_MODE=jwt), checks each stream by its own route's
 * rule: one that the token does not give refuses the whole request with a 403 naming it. Access is
 * checked before existence, as on the single routes: a stream the token does not give is a 403
 * whether or not it exists (`kafka:<topic>` of a topic not listed), so the answer does not tell
 * which topics are served. Runs after AccessGuard, before any byte of the stream.
 */
@Injectable()
export class StreamsGuard implements CanActivate {
  constructor(private readonly catalog: StreamCatalog) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest & WithStreams>();
    const token = request.auth;
    const refusalOf = (stream: RequestedStream): string | undefined => {
      if (token === undefined) {
        return undefined;
      }
      const asked = stream.kind.accessValue?.(stream.parameter) ?? stream.parameter;
      return accessRefusal(stream.kind.access, token, () => asked);
    };
    const streams = this.catalog.parse(request.query.stream, (stream) => refusalOf(stream) === undefined);
    for (const stream of streams) {
      const refusal = refusalOf(stream);
      if (refusal !== undefined) {
        throw new ForbiddenException(`Stream ${JSON.stringify(stream.name)} is not allowed: ${refusal}`);
      }
    }
    request[STREAMS] = streams;
    return true;
  }
}

/** The streams StreamsGuard read from the request. */
export function requestedStreams(request: Request): RequestedStream[] {
  const streams = (request as WithStreams)[STREAMS];
  if (streams === undefined) {
    throw new Error('StreamsGuard did not run on this route');
  }
  return streams;
}

/** The user streams of a request, each counted against its user as its own route counts it. */
export function userStreamsOf(request: Request): StreamUser[] {
  return requestedStreams(request).flatMap(({ kind, parameter }) =>
    kind.userCap === undefined ? [] : [{ stream: kind.userCap, user: parameter }],
  );
}

/** The settings that bound the time of the streams a request carries (temperature's), for @SseRoute. */
export function maxDurationSettingsOf(request: Request): NumericSetting[] {
  return requestedStreams(request).flatMap(({ kind }) =>
    kind.maxDurationSetting === undefined ? [] : [kind.maxDurationSetting],
  );
}
