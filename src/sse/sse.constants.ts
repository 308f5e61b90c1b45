import { AppConfig } from '../config/app-config';

/** Metadata key of the options @SseRoute() puts on a handler. */
export const SSE_ROUTE_OPTIONS = 'sse:route-options';

type NumericSetting = { [K in keyof AppConfig]-?: AppConfig[K] extends number ? K : never }[keyof AppConfig];

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
   * retry hint and the client resumes with Last-Event-ID. Unbounded when absent.
   */
  maxDurationSetting?: NumericSetting;
}
