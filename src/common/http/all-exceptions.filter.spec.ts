import {
  BadRequestException,
  Controller,
  Get,
  INestApplication,
  Logger,
  Param,
  PayloadTooLargeException,
  Post,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import express, { Response } from 'express';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { BusUnavailableError } from '../../bus/bus.errors';
import { KafkaTopicNotAllowedError } from '../../kafka/kafka.errors';
import { IllegalTransitionError, ReportNotFoundError } from '../../reports/report.errors';
import {
  ConnectionLimitError,
  EventTooLargeError,
  ServerDrainingError,
  UserConnectionLimitError,
} from '../../sse/sse.errors';
import { UnregisteredEntityError } from '../../temperature/temperature.errors';
import { AllExceptionsFilter } from './all-exceptions.filter';

const REPORT = '9d4a2c3e-1b2f-4c6d-8e9f-0a1b2c3d4e5f';

/** What each route throws, as the app's services and libraries do. */
const THROWN: Record<string, () => unknown> = {
  'illegal-transition': () => new IllegalTransitionError(REPORT, 'completed', 'queued'),
  'report-not-found': () => new ReportNotFoundError('u', REPORT),
  'unregistered-entity': () => new UnregisteredEntityError('sensor-1'),
  'topic-not-allowed': () => new KafkaTopicNotAllowedError('secrets'),
  'connection-limit': () => new ConnectionLimitError(2),
  draining: () => new ServerDrainingError(),
  'user-connection-limit': () => new UserConnectionLimitError(3),
  'event-too-large': () => new EventTooLargeError(70_000, 65_536, 'items[1].data'),
  // What StreamFit threw before it had a domain error: the answer must not change.
  'event-too-large-as-http': () =>
    new PayloadTooLargeException(new EventTooLargeError(70_000, 65_536, 'items[1].data').message),
  'bus-unavailable': () => new BusUnavailableError('Kafka is not reachable', 9),
  validation: () => new BadRequestException(['username must be shorter than or equal to 64 characters']),
  'not-ready': () =>
    new ServiceUnavailableException({
      status: 'error',
      info: {},
      error: { bus: { status: 'down', reachable: false } },
      details: { bus: { status: 'down', reachable: false } },
    }),
  bug: () => new TypeError("Cannot read properties of undefined (reading 'id')"),
  'status-not-exposed': () => Object.assign(new Error('ECONNRESET upstream'), { status: 400 }),
};

@Controller()
class ThrowingController {
  @Get('throw/:kind')
  throw(@Param('kind') kind: string): never {
    throw THROWN[kind]();
  }

  @Post('echo')
  echo(): string {
    return 'read';
  }

  @Get('streaming')
  streaming(@Res({ passthrough: true }) response: Response): never {
    response.write('data: first\n\n');
    throw new Error('the source failed');
  }
}

describe(AllExceptionsFilter.name, () => {
  let app: INestApplication;
  let base: string;
  let sut: AllExceptionsFilter;
  let errors: jest.SpyInstance;
  let warnings: jest.SpyInstance;

  const get = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${base}${path}`, init);
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      text,
      body: () => JSON.parse(text) as unknown,
    };
  };

  beforeEach(async () => {
    errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const module = await Test.createTestingModule({ controllers: [ThrowingController] }).compile();
    app = module.createNestApplication({ bodyParser: false, logger: false });
    app.use(express.json({ limit: 16 }));
    sut = new AllExceptionsFilter();
    app.useGlobalFilters(sut);
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await app.close();
    jest.restoreAllMocks();
  });

  it.each([
    ['illegal-transition', 409, 'Conflict'],
    ['report-not-found', 404, 'Not Found'],
    ['unregistered-entity', 404, 'Not Found'],
    ['topic-not-allowed', 404, 'Not Found'],
    ['user-connection-limit', 429, 'Too Many Requests'],
    ['event-too-large', 413, 'Payload Too Large'],
  ])('answers the domain error %s with %i, its message and the request id', async (kind, status, error) => {
    const answer = await get(`/throw/${kind}`, { headers: { 'X-Request-Id': 'req-1' } });

    expect(answer.status).toBe(status);
    expect(answer.body()).toEqual({
      statusCode: status,
      error,
      message: (THROWN[kind]() as Error).message,
      requestId: 'req-1',
    });
  });

  it('answers an event too large for a stream exactly as the 413 publish routes gave before it was a domain error', async () => {
    const domain = await get('/throw/event-too-large', { headers: { 'X-Request-Id': 'req-1' } });
    const http = await get('/throw/event-too-large-as-http', { headers: { 'X-Request-Id': 'req-1' } });

    expect(domain.status).toBe(413);
    expect(domain.status).toBe(http.status);
    expect(domain.text).toBe(http.text);
  });

  it('tells a client refused by a limit, or by a transport that is down, when to retry', async () => {
    const answers = await Promise.all(
      ['connection-limit', 'draining', 'user-connection-limit', 'bus-unavailable'].map((kind) =>
        get(`/throw/${kind}`),
      ),
    );

    expect(answers.map((answer) => [answer.status, answer.headers.get('retry-after')])).toEqual([
      [503, '5'],
      [503, '5'],
      [429, '5'],
      [503, '9'],
    ]);
  });

  it("keeps a client error's status and messages: the validation pipe's list, a body parser's 413", async () => {
    const invalid = await get('/throw/validation');
    const tooLarge = await get('/echo', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: 'longer than sixteen bytes' }),
    });

    expect(invalid.status).toBe(400);
    expect(invalid.body()).toMatchObject({
      error: 'Bad Request',
      message: ['username must be shorter than or equal to 64 characters'],
    });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body()).toMatchObject({
      error: 'Payload Too Large',
      message: 'request entity too large',
    });
  });

  it('answers any other error with a 500 that names the request and shows no stack, and logs the stack', async () => {
    const bug = await get('/throw/bug', { headers: { 'X-Request-Id': 'req-2' } });
    // A status on an error that does not say it may be shown is not the client's to see.
    const internal = await get('/throw/status-not-exposed');

    expect(bug.status).toBe(500);
    expect(bug.body()).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
      requestId: 'req-2',
    });
    expect(internal.status).toBe(500);
    expect(internal.text).not.toContain('ECONNRESET');
    expect(errors).toHaveBeenCalledWith(
      'Unhandled error (request req-2)',
      expect.stringContaining("TypeError: Cannot read properties of undefined (reading 'id')\n    at "),
    );
  });

  it('keeps the details of a failed readiness check: which dependency is down', async () => {
    const answer = await get('/throw/not-ready');

    expect(answer.status).toBe(503);
    expect(answer.body()).toMatchObject({
      message: 'Not ready: a dependency is down (see details)',
      details: { bus: { status: 'down', reachable: false } },
    });
  });

  it('ends an answer that had started instead of sending a status, and logs why', async () => {
    const answer = await get('/streaming', { headers: { 'X-Request-Id': 'req-3' } });

    expect(answer.status).toBe(200);
    expect(answer.text).toBe('data: first\n\n');
    expect(errors).toHaveBeenCalledWith(
      'Error after the response started (request req-3)',
      expect.stringContaining('Error: the source failed'),
    );
  });

  it('logs one line per ten seconds of 503 answers, then counts those it did not log', async () => {
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);

    for (const requestId of ['a', 'b', 'c']) {
      await get('/throw/bus-unavailable', { headers: { 'X-Request-Id': requestId } });
    }
    now += 10_000;
    await get('/throw/bus-unavailable', { headers: { 'X-Request-Id': 'd' } });

    expect(warnings.mock.calls.map(([message]) => message as string)).toEqual([
      'Answered 503 (request a): Kafka is not reachable',
      'Answered 503 (request d): Kafka is not reachable (and 2 more 503 answers in the last 10 s, not logged one by one)',
    ]);
    expect(errors).not.toHaveBeenCalled();
  });
});
