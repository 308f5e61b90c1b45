import { lastValueFrom, Subscription } from 'rxjs';
import { randomUUID } from 'node:crypto';
import { MESSAGE_BUS } from '../src/bus/bus.constants';
import { isBusRecord, MessageBus } from '../src/bus/message-bus.interface';
import { BusClient } from '../src/bus/transport/bus-client';
import { metric, post, RunningApp, startApp, waitUntil } from './support/app';

jest.setTimeout(30_000);

/** The in-memory bus (no KAFKA_BROKERS): the same @EventPattern handlers, fed by the same transport. */
describe('@EventPattern handlers on the in-memory bus', () => {
  let app: RunningApp;
  let letters: string[];
  let deadLetters: Subscription;

  beforeAll(async () => {
    app = await startApp();
    letters = [];
    deadLetters = app.app
      .get<MessageBus>(MESSAGE_BUS)
      .subscribe('v4_messages.dead-letter')
      .subscribe((delivery) => isBusRecord(delivery) && letters.push(delivery.value));
  });
  afterAll(async () => {
    deadLetters?.unsubscribe();
    await app?.close();
  });

  it('hands each v3 message posted to the v3 handler, once', async () => {
    const handled = () => metric(app, 'bus_handler_records_total', 'topic="v3_messages",outcome="handled"');
    const before = await handled();
    for (const message of ['one', 'two']) {
      expect((await post(`${app.baseUrl}/v3/message?username=local`, message)).status).toBe(201);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await handled()).toBe(before + 2);
  });

  it('applies v4_messages commands emitted with the BusClient, and dead-letters a rejected one with the reason', async () => {
    const user = randomUUID();
    const created = (await (
      await fetch(`${app.baseUrl}/v4/new/report?user_id=${user}`, { method: 'POST' })
    ).json()) as {
      reportId: string;
    };
    const client = app.app.get(BusClient);
    const sent = await lastValueFrom(
      client.emit('v4_messages', { value: JSON.stringify({ id: created.reportId, status: 'queued' }) }),
    );
    expect(sent.topic).toBe('v4_messages');
    await lastValueFrom(
      client.emit('v4_messages', { value: JSON.stringify({ id: created.reportId, status: 'completed' }) }),
    );
    await waitUntil(() => letters.some((letter) => letter.includes(created.reportId)), 'the dead letter');
    const reports = (await (await fetch(`${app.baseUrl}/v4/reports?user_id=${user}`)).json()) as {
      reportStatus: string;
    }[];
    expect(reports.map((report) => report.reportStatus)).toEqual(['queued']);
    const letter = JSON.parse(letters.find((one) => one.includes(created.reportId))!) as { reason: string };
    expect(letter.reason).toContain('is queued; it cannot become completed');
  });
});
