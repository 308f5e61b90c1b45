// Compiled by client/src/stream-contract.spec.ts (`tsc --noEmit`): each line after an expect-error
// directive must fail to compile, and every other line must compile.
import { REPORT_STATUSES } from '../../src/reports/report.js';
import { createClient } from '../src/index.js';
import type { HubStatus, ReportStatus, TemperatureStreamEvent } from '../src/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

// The statuses the client knows are the status machine's, all of them.
const sameStatuses: Equal<ReportStatus, (typeof REPORT_STATUSES)[number]> = true;
void sameStatuses;

const client = createClient({ baseUrl: 'http://127.0.0.1:3000' });
declare const userId: string;

client.subscribe(`reports:${userId}`, {
  onEvent(e) {
    const type: 'report_status_update' = e.type;
    const id: string = e.data.id;
    const status: ReportStatus = e.data.status;
    void [type, id, status];
    // @ts-expect-error a field report events do not have
    void e.data.state;
    // @ts-expect-error a status the machine does not have
    const done: typeof e.data.status = 'done';
    void done;
  },
  onGap() {},
  onError(err) {
    const status: number = err.status;
    void status;
  },
});

// @ts-expect-error a misspelt stream kind
client.subscribe(`reprots:${userId}`, { onEvent() {} });
// @ts-expect-error broadcast misspelt
client.subscribe('broadcats', { onEvent() {} });
// @ts-expect-error no such kind
client.subscribe('v4:alice', { onEvent() {} });

client.subscribe('v2:alice', {
  onEvent(e) {
    const text: string = e.data;
    void text;
    // @ts-expect-error v2 data is text
    const n: number = e.data;
    void n;
  },
});
client.subscribe('broadcast', { onEvent: (e) => void e.data.toUpperCase() });

client.subscribe('temperature:sensor-1', {
  onEvent(e) {
    const event: TemperatureStreamEvent = e.data;
    if (e.data.type === 'TemperatureRead') {
      const degrees: number = e.data.temperature;
      void degrees;
    } else {
      // @ts-expect-error a Registered event has no temperature
      void e.data.temperature;
    }
    // @ts-expect-error not one of its event types
    const wrong: typeof e.data.type = 'Unregistered';
    void [event, wrong];
  },
});

client.subscribe('kafka:clicks', {
  onEvent(e) {
    // @ts-expect-error a Kafka record is unknown unless the caller names its type
    void e.data.page;
  },
});
client.subscribe<{ page: string }>('kafka:clicks', {
  onEvent(e) {
    const page: string = e.data.page;
    void page;
    // @ts-expect-error not a field of the type the caller named
    void e.data.pgae;
  },
});

void client.publish('v2:alice', 'howdy');
void client.publish('kafka:clicks:page-1', { page: '/pricing' });
// @ts-expect-error v2 takes text
void client.publish('v2:alice', 42);
// @ts-expect-error reports change through their own routes
void client.publish(`reports:${userId}`, 'queued');
// @ts-expect-error a misspelt stream
void client.publish('v5:alice', 'howdy');

// onStatus is an option of every client (not only of the tab-shared one), told a HubStatus.
createClient({
  baseUrl: 'http://127.0.0.1:3000',
  shareAcrossTabs: false,
  onStatus(status) {
    const known: HubStatus = status;
    void known;
    // @ts-expect-error not a status the client has
    const offline: typeof status = 'offline';
    void offline;
  },
});
// @ts-expect-error a status callback takes a status, not a number
createClient({ baseUrl: 'http://127.0.0.1:3000', onStatus: (status: number) => void status });
