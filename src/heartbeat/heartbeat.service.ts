import { Inject, Injectable } from '@nestjs/common';
import { interval, map, Observable, share } from 'rxjs';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { SseEvent } from '../sse/sse-event';

/**
 * The v1 heartbeat: `data: hi!` on a fixed interval. One timer and one encoded event per beat
 * serve every listener; the timer runs only while someone listens.
 */
@Injectable()
export class HeartbeatService {
  private readonly beats$: Observable<SseEvent>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.beats$ = interval(config.HEARTBEAT_INTERVAL_MS).pipe(
      map(() => new SseEvent(String(Date.now()), 'hi!')),
      share(),
    );
  }

  beats(): Observable<SseEvent> {
    return this.beats$;
  }
}
