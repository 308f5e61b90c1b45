import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';
import { Observable } from 'rxjs';
import { AccessRule } from '../auth/access-rule';
import { NumericSetting } from '../sse/sse.constants';
import { SseItem } from '../sse/sse-replay';

/** Metadata key that marks a provider as a stream kind of `GET /sse`. */
export const STREAM_KIND = 'multiplex:stream-kind';

/** What a kind makes of the part of a stream name after `<prefix>:`: the parameter, or why it is malformed. */
export type ParsedParameter = { readonly parameter: string } | { readonly error: string };

/**
 * One kind of stream that `GET /sse?stream=<name>` can carry, provided by the feature that serves
 * it on its own route, so that both carry the same events under the same rules. A name is
 * `<prefix>` or `<prefix>:<parameter>`.
 */
export interface StreamKind {
  /** The part of the name before the first colon: `v2` of `v2:alice`. */
  readonly prefix: string;
  /** How names of this kind are written, for errors and docs: `v2:<username>`. */
  readonly pattern: string;
  /**
   * Checks the parameter (undefined when the name has no colon) as the single route checks it, and
   * gives it in the form the route uses (a UUID in lower case).
   */
  parse(parameter: string | undefined): ParsedParameter;
  /**
   * Why a well-formed parameter names nothing this service streams (a Kafka topic not listed), or
   * undefined. Asked only when the token gives the stream (or there is no token), so that a refusal
   * does not tell what exists: the single route checks the token first too.
   */
  unknown?(parameter: string): string | undefined;
  /** The single route's @Access() rule; its `subjectQuery` or `scopeParam` names the parameter. */
  readonly access: AccessRule;
  /**
   * The value the access rule checks, when it is a part of the parameter rather than all of it
   * (the topic of `kafka:<topic>:<key>`).
   */
  accessValue?(parameter: string): string;
  /**
   * The setting that bounds how long the single route's connection lasts; a multiplexed connection
   * carrying this stream is bounded by it too (then every stream resumes from the composite id).
   */
  readonly maxDurationSetting?: NumericSetting;
  /**
   * The parameter of the stream of this kind whose events include every event of this one (the
   * topic of `kafka:<topic>:<key>`): a connection carrying both gets such an event twice.
   */
  parentOf?(parameter: string): string | undefined;
  /** The single route's stream name when it is capped per user (the parameter is the user). */
  readonly userCap?: string;
  /** The events the single route sends, after `lastEventId` when given. */
  open(parameter: string, lastEventId?: string): Observable<SseItem>;
}

/**
 * Makes a provider a stream kind of `GET /sse`: put it on a class implementing StreamKind and list
 * it in the providers of the feature's module; the stream catalog finds it there.
 */
export const MultiplexStream = (): ClassDecorator =>
  applyDecorators(Injectable(), SetMetadata(STREAM_KIND, true));
