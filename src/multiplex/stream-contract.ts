/**
 * What each stream of `GET /sse` carries, by its name: the one declaration of the payloads that the
 * server's code writes and the client (`client/`) reads, so the two cannot drift. Types only, and
 * importing only files without imports of their own, so the client's declarations can carry it.
 */
import type { ReportStatus } from '../reports/report.js';

export type { ReportStatus };

/** The `type` of the events of a reports stream (`event: reports:<uuid>.report_status_update`). */
export type ReportStatusEventType = 'report_status_update';

/** The data of a `report_status_update` event: a report and the status it moved to. */
export interface ReportStatusUpdate {
  id: string;
  status: ReportStatus;
}

/** A temperature entity's event, as its topic holds it. */
export type TemperatureEvent =
  | { type: 'Registered'; entityId: string }
  | { type: 'TemperatureRead'; entityId: string; temperature: number };

/** What a temperature stream sends: the event and when it was recorded (ISO 8601, UTC). */
export type TemperatureStreamEvent = TemperatureEvent & { timestamp: string };

/** Every stream name `GET /sse` takes, by kind; what follows the prefix is checked by the server. */
export type StreamName =
  | 'broadcast'
  | `v2:${string}`
  | `v3:${string}`
  | `reports:${string}`
  | `temperature:${string}`
  | `kafka:${string}`;

/** An event of the stream named `N`: its `type` (undefined for untyped events) and its data. */
export type StreamEvent<N extends StreamName> = N extends `reports:${string}`
  ? { type: ReportStatusEventType; data: ReportStatusUpdate }
  : N extends `temperature:${string}`
    ? { type: undefined; data: TemperatureStreamEvent }
    : N extends `kafka:${string}`
      ? { type: undefined; data: unknown }
      : { type: undefined; data: string };

/** The data a publish to the stream named `N` takes (none for reports and temperature: they have routes of their own). */
export type PublishData<N extends StreamName> = N extends `v2:${string}` | `v3:${string}` | 'broadcast'
  ? string
  : N extends `kafka:${string}`
    ? unknown
    : never;
