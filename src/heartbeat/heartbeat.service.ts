import { Inject, Injectable } from '@nestjs/common';
import { map, Observable, timer } from 'rxjs';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { SseEvent } from '../sse/sse-event';

/**
 * The v1 heartbeat: `data: hi!` as soon as a stream opens, then every HEARTBEAT_INTERVAL_MS from
 * then on, as the reference output shows. Each stream keeps its own beat: a timer shared by all
 * listeners would put a new listener's second beat anywhere within the first interval.
 */
@Injectable()
export class HeartbeatService {
  private readonly intervalMs: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.intervalMs = config.HEARTBEAT_INTERVAL_MS;
  }

  beats(): Observable<SseEvent> {
    return timer(0, this.intervalMs).pipe(map(() => new SseEvent(String(Date.now()), 'hi!')));
  }
}
