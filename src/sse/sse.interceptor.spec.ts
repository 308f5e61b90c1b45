import { BadRequestException, Controller, Get, INestApplication, Logger, Query, Sse } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IncomingHttpHeaders, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Observable, of, Subject, throwError } from 'rxjs';
import { AllExceptionsFilter } from '../common/http/all-exceptions.filter';
import { ConfigModule } from '../config/config.module';
import { MetricsModule } from '../metrics/metrics.module';
import { SseEvent } from './sse-event';
import { SseItem } from './sse-replay';
import { SseRoute } from './sse-route.decorator';
import { SseConnectionRegistry } from './sse-connection.registry';
import { SseModule } from './sse.module';
import { SseInterceptor } from './sse.interceptor';

/** The events of the `live` route: the test pushes them. */
let live: Subject<SseItem>;

const keepAlive = { comment: 'ka', intervalSetting: 'EVENTS_KEEPALIVE_MS' } as const;

@Controller()
class StreamsController {
  @Sse('live')
  @SseRoute({ stream: 'live', userQuery: 'user', userIgnoresCase: true, keepAlive })
  live(@Query('user') _user?: string): Observable<SseItem> {
    return live;
  }

  @Sse('limited')
  @SseRoute({ stream: 'limited', keepAlive, maxDurationSetting: 'MAX_SSE_CONNECTION_TIME' })
  limited(): Observable<SseItem> {
    return new Observable<SseItem>();
  }

  @Sse('refused')
  @SseRoute({ stream: 'refused', keepAlive })
  refused(): Observable<SseItem> {
    return throwError(() => new BadRequestException('lastEventId is not an event id of this stream'));
  }

  @Sse('wrong')
  @SseRoute({ stream: 'wrong', keepAlive })
  wrong(): Observable<SseItem> {
    return of({ data: 'not an SseEvent' } as unknown as SseItem);
  }

  @Get('undecorated')
  @SseRoute({ stream: 'undecorated', keepAlive })
  undecorated(): Observable<SseItem> {
    return new Observable<SseItem>();
  }
}

/** A raw HTTP client of one request: the status, headers and bytes as they come. */
class Reader {
  status = 0;
  headers: IncomingHttpHeaders = {};
  body = '';
  readonly ended: Promise<void>;
  private readonly started: Promise<void>;
  private readonly destroy: () => void;
  private readonly changed: (() => void)[] = [];

  constructor(port: number, path: string, method = 'GET') {
    let started!: () => void;
    let ended!: () => void;
    this.started = new Promise((resolve) => (started = resolve));
    this.ended = new Promise((resolve) => (ended = resolve));
    const outgoing = request({ host: '127.0.0.1', port, path, method, agent: false }, (response) => {
      this.status = response.statusCode ?? 0;
      this.headers = response.headers;
      started();
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        this.body += text;
        this.changed.splice(0).forEach((wake) => wake());
      });
      response.on('end', ended);
      response.on('close', ended);
    });
    outgoing.on('error', () => ended());
    outgoing.end();
    this.destroy = () => outgoing.destroy();
  }

  async open(): Promise<this> {
    await this.started;
    return this;
  }

  /** Waits until the body holds `text`, at most 2 s. */
  async waitFor(text: string): Promise<string> {
    const deadline = Date.now() + 2_000;
    while (!this.body.includes(text) && Date.now() < deadline) {
      await new Promise<void>((wake) => {
        this.changed.push(wake);
        setTimeout(wake, 50);
      });
    }
    return this.body;
  }

  close(): void {
    this.destroy();
  }
}

describe(SseInterceptor.name, () => {
  let app: INestApplication;
  let port: number;
  let registry: SseConnectionRegistry;
  let readers: Reader[];
  let errors: jest.SpyInstance;

  const read = (path: string, method?: string) => {
    const reader = new Reader(port, path, method);
    readers.push(reader);
    return reader.open();
  };
  const untilReleased = async () => {
    for (let waited = 0; registry.size > 0 && waited < 2_000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return registry.size;
  };

  beforeEach(async () => {
    live = new Subject<SseItem>();
    readers = [];
    errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const module = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({
          SSE_MAX_CONNECTIONS_PER_USER: '1',
          SSE_RETRY_MS: '1500',
          MAX_SSE_CONNECTION_TIME: '300ms',
        }),
        MetricsModule,
        SseModule,
      ],
      controllers: [StreamsController],
    }).compile();
    app = module.createNestApplication({ logger: false });
    app.useGlobalFilters(new AllExceptionsFilter());
    await app.listen(0, '127.0.0.1');
    port = ((app.getHttpServer() as Server).address() as AddressInfo).port;
    registry = app.get(SseConnectionRegistry);
  });

  afterEach(async () => {
    readers.forEach((reader) => reader.close());
    await app.close();
    jest.restoreAllMocks();
  });

  it("opens the stream with its headers, the retry hint and a comment, then writes the handler's events", async () => {
    const reader = await read('/live?user=ada');
    await reader.waitFor(': stream open\n\n');
    live.next(new SseEvent('7', 'hello'));

    expect(reader.status).toBe(200);
    expect(reader.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(await reader.waitFor('data: hello')).toBe(
      '\nretry: 1500\n\n: stream open\n\nid: 7\ndata: hello\n\n',
    );
  });

  it("refuses a user's stream past the per-user cap with 429 before any byte, one user in any letter case", async () => {
    await (await read('/live?user=Ada')).waitFor(': stream open');

    const second = await read('/live?user=aDA');
    await second.ended;

    expect(second.status).toBe(429);
    expect(second.headers['retry-after']).toBe('5');
    expect(JSON.parse(second.body)).toMatchObject({ statusCode: 429 });
    expect(registry.size).toBe(1);
  });

  it("answers a handler's failure before the stream with the filter's status, and holds no place for it", async () => {
    const reader = await read('/refused');
    await reader.ended;

    expect(reader.status).toBe(400);
    expect(JSON.parse(reader.body)).toMatchObject({
      message: 'lastEventId is not an event id of this stream',
    });
    expect(await untilReleased()).toBe(0);
  });

  it('answers a handler that emits something other than an event with a 500, not a broken stream', async () => {
    const reader = await read('/wrong');
    await reader.ended;

    expect(reader.status).toBe(500);
    expect(await untilReleased()).toBe(0);
  });

  it('answers HEAD with the headers of a stream and no body', async () => {
    const reader = await read('/live?user=ada', 'HEAD');
    await reader.ended;

    expect(reader.status).toBe(200);
    expect(reader.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(reader.body).toBe('');
    expect(await untilReleased()).toBe(0);
  });

  it('ends a stream when its time is up, with a comment and a retry hint, so the client resumes', async () => {
    const reader = await read('/limited');
    const openedAt = Date.now();
    await reader.ended;

    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(250);
    expect(reader.body).toBe(
      '\nretry: 1500\n\n: stream open\n\n: connection time limit reached, reconnect\n\nretry: 1500\n\n',
    );
  });

  it('ends a stream whose events end, or fail once it started, saying which', async () => {
    const ending = await read('/live?user=ada');
    await ending.waitFor(': stream open');
    live.complete();
    await ending.ended;
    live = new Subject<SseItem>();
    const failing = await read('/live?user=bob');
    await failing.waitFor(': stream open');
    live.error(new Error('the store went away'));
    await failing.ended;

    expect(ending.body).toMatch(/: stream ended\n\nretry: 1500\n\n$/);
    expect(failing.body).toMatch(/: stream failed, reconnect\n\nretry: 1500\n\n$/);
    expect(errors).toHaveBeenCalledWith('Stream live failed', expect.stringContaining('the store went away'));
    expect(await untilReleased()).toBe(0);
  });

  it('frees the place of a stream whose client went away', async () => {
    const reader = await read('/live?user=ada');
    await reader.waitFor(': stream open');
    expect(registry.size).toBe(1);

    reader.close();

    expect(await untilReleased()).toBe(0);
    expect(live.observed).toBe(false);
  });

  it('refuses to serve an @SseRoute() handler that is not an @Sse() route, naming it', async () => {
    const reader = await read('/undecorated');
    await reader.ended;

    expect(reader.status).toBe(500);
    expect(errors).toHaveBeenCalledWith(
      expect.stringContaining('Unhandled error'),
      expect.stringContaining('StreamsController.undecorated: @SseRoute() goes with @Sse()'),
    );
  });
});
