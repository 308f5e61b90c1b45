import { Request } from 'express';
import { AppConfig } from '../config/app-config';

/** Metadata key of the options @SseRoute() puts on a handler. */
export const SSE_ROUTE_OPTIONS = 'sse:route-options';

export type NumericSetting = {
  [K in keyof AppConfig]-?: AppConfig[K] extends number ? K : never;
}[keyof AppConfig];

export interface SseRouteOptions {
  /** Name of the stream in metrics and logs. */
  stream: string;
  /** Query parameter naming the user, whose open streams are capped (SSE_MAX_CONNECTIONS_PER_USER). */
  userQuery?: string;
  /** The user is named by a UUID: one user in any letter case, for the cap too. */
  userIgnoresCase?: boolean;
  /** Keep-alive comment text and the setting that holds its interval. */
  keepAlive: { comment: string; intervalSetting: NumericSetting };
  /**
   * The setting that bounds how long one connection lasts, in ms; the server then ends it with a
   * retry hint and the client resumes with Last-Event-ID. Unbounded when absent. A function reads them
   * from the request after the guards ran (a multiplexed connection: those of the streams it
   * carries), and the shortest applies.
   */
  maxDurationSetting?: NumericSetting | ((request: Request) => readonly NumericSetting[]);
  /**
   * Whose streams the connection carries, for the per-user cap, when the request names more than
   * one (a multiplexed connection); read after the guards ran. Each counts against its user.
   */
  users?: (request: Request) => readonly StreamUser[];
  /**
   * How many times one event can reach the connection, read after the guards ran (a multiplexed
   * connection carrying a topic and one of its keys gets a record of that key under both): its
   * buffer bound is that many times SSE_MAX_BUFFER_BYTES, so that any event a publish accepted fits.
   * Once when absent.
   */
  eventCopies?: (request: Request) => number;
}

/** A user stream a connection carries: counted against that user under the route's stream name. */
export interface StreamUser {
  readonly stream: string;
  readonly user: string;
}
