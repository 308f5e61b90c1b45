import {
  BadRequestException,
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  OnModuleInit,
} from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { Request } from 'express';
import { accessRefusal } from '../auth/access-check';
import { AuthenticatedRequest } from '../auth/access.guard';
import { NumericSetting, StreamUser } from '../sse/sse.constants';
import { ParsedParameter, STREAM_KIND, StreamKind } from './stream-kind';

/*
 * The streams a GET /sse request names: every kind the features provide (StreamCatalog), the
 * names read and checked against them and against the token (StreamsGuard), and what the SSE layer
 * needs of them (userStreamsOf, maxDurationSettingsOf).
 */

/** The most streams one connection may carry: their composite ids stay well within a header. */
export const MAX_STREAMS = 20;
/** Longest stream name accepted (a user name is at most 128 characters). */
const MAX_NAME_LENGTH = 200;

/** A stream a request asked for, checked. */
export interface RequestedStream {
  /** The name as the client wrote it: the `event:` of its events. */
  readonly name: string;
  readonly kind: StreamKind;
  /** The parameter as the single route takes it (a UUID in lower case); '' for a kind without one. */
  readonly parameter: string;
}

/**
 * Every stream kind of the app, found among the providers of all modules (each feature provides
 * its own, marked @MultiplexStream()), and the parsing of `stream=` names against them.
 */
@Injectable()
export class StreamCatalog implements OnModuleInit {
  private readonly kinds = new Map<string, StreamKind>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const metatype = wrapper.metatype;
      const instance: unknown = wrapper.instance;
      if (typeof metatype !== 'function' || !instance || !Reflect.getMetadata(STREAM_KIND, metatype)) {
        continue;
      }
      const kind = instance as StreamKind;
      if (this.kinds.has(kind.prefix)) {
        throw new Error(`Two stream kinds share the prefix "${kind.prefix}"`);
      }
      this.kinds.set(kind.prefix, kind);
    }
  }

  /** How every kind's names are written: for errors and docs. */
  get patterns(): string[] {
    return [...this.kinds.values()].map((kind) => kind.pattern);
  }

  /**
   * The streams of a `stream` query value (one name, or several), in the order given; a 400 that
   * names every name that is malformed, unknown or repeated, or says why the list is refused. A
   * well-formed name is checked for what it names only when `mayKnow` says the client may learn it
   * (its token gives the stream); one it may not is returned as it is, for the caller to refuse.
   */
  parse(query: unknown, mayKnow: (stream: RequestedStream) => boolean = () => true): RequestedStream[] {
    const names = typeof query === 'string' ? [query] : query;
    if (names === undefined || (Array.isArray(names) && names.length === 0)) {
      throw new BadRequestException(
        `Name at least one stream: ?stream=<name>&stream=<name>…, each one of ${this.patterns.join(', ')}`,
      );
    }
    if (!Array.isArray(names) || names.some((name) => typeof name !== 'string')) {
      throw new BadRequestException('stream must be given as repeated stream=<name> query parameters');
    }
    if (names.length > MAX_STREAMS) {
      throw new BadRequestException(
        `At most ${MAX_STREAMS} streams on one connection, ${names.length} were named; open another connection for the rest`,
      );
    }
    const problems: string[] = [];
    const seen = new Set<string>();
    const streams: RequestedStream[] = [];
    for (const name of names as string[]) {
      const parsed = this.parseName(name);
      if ('error' in parsed) {
        problems.push(parsed.error);
        continue;
      }
      const key = `${parsed.kind.prefix}:${parsed.parameter}`;
      if (seen.has(key)) {
        problems.push(`stream ${JSON.stringify(name)} is repeated`);
        continue;
      }
      seen.add(key);
      const absent = parsed.kind.unknown?.(parsed.parameter);
      if (absent !== undefined && mayKnow(parsed)) {
        problems.push(`stream ${quote(name)} is unknown: ${absent}`);
        continue;
      }
      streams.push(parsed);
    }
    if (problems.length > 0) {
      throw new BadRequestException(problems.join('; '));
    }
    return streams;
  }

  private parseName(name: string): RequestedStream | { error: string } {
    if (name.length === 0 || name.length > MAX_NAME_LENGTH || /\p{Cc}/u.test(name)) {
      return {
        error: `stream ${quote(name)} is malformed: 1-${MAX_NAME_LENGTH} characters without control characters`,
      };
    }
    const colon = name.indexOf(':');
    const prefix = colon < 0 ? name : name.slice(0, colon);
    const kind = this.kinds.get(prefix);
    if (!kind) {
      return { error: `stream ${quote(name)} is unknown: streams are ${this.patterns.join(', ')}` };
    }
    const parsed = kind.parse(colon < 0 ? undefined : name.slice(colon + 1));
    if ('error' in parsed) {
      return { error: `stream ${quote(name)} is malformed (${kind.pattern}): ${parsed.error}` };
    }
    return { name, kind, parameter: parsed.parameter };
  }
}

/** A name as errors show it: quoted, and cut short when too long to be one. */
function quote(name: string): string {
  return JSON.stringify(name.length > MAX_NAME_LENGTH ? `${name.slice(0, 40)}…` : name);
}

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

/**
 * Checks a stream name's parameter with the single route's own query or path DTO, so both accept
 * the same values (and transform them alike): `property` is the field the parameter stands for.
 */
export function parameterByDto<T extends object>(
  dto: ClassConstructor<T>,
  property: keyof T & string,
  parameter: string | undefined,
): ParsedParameter {
  if (parameter === undefined) {
    return { error: `it needs a ${property} after the colon` };
  }
  // Valid parameters are remembered: the rules are fixed, and class-validator's transform and
  // validation are most of what a stream name costs (a fifth of a 100-item POST /publish).
  let ofDto = validParameters.get(dto);
  if (ofDto === undefined) {
    ofDto = new Map();
    validParameters.set(dto, ofDto);
  }
  let valid = ofDto.get(property);
  if (valid === undefined) {
    valid = new Map();
    ofDto.set(property, valid);
  }
  const known = valid.get(parameter);
  if (known !== undefined) {
    return { parameter: known };
  }
  const instance = plainToInstance(dto, { [property]: parameter });
  const errors = validateSync(instance, { skipMissingProperties: false }).filter(
    (error) => error.property === property,
  );
  if (errors.length > 0) {
    return { error: Object.values(errors[0].constraints ?? {}).join(', ') || `invalid ${property}` };
  }
  const checked = String((instance as Record<string, unknown>)[property]);
  if (valid.size >= MAX_REMEMBERED_PARAMETERS) {
    valid.clear(); // bounded: a stream of new names costs what it did, never memory
  }
  valid.set(parameter, checked);
  return { parameter: checked };
}

/** Per DTO and property, each valid parameter seen and the value it checked as. */
const validParameters = new WeakMap<object, Map<string, Map<string, string>>>();
const MAX_REMEMBERED_PARAMETERS = 10_000;

/** For kinds without a parameter (`broadcast`). */
export function noParameter(parameter: string | undefined): ParsedParameter {
  return parameter === undefined ? { parameter: '' } : { error: 'it takes no parameter' };
}
