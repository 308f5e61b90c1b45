import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { StoreConnection } from './store-connection';
import { STORE_CONNECTION } from './store.constants';

export interface StoreHealthResult {
  readonly up: boolean;
  readonly details: Record<string, unknown>;
}

/** Whether the store answers a trivial query quickly; for the readiness check. */
@Injectable()
export class StoreHealth {
  constructor(@Inject(STORE_CONNECTION) private readonly connection: StoreConnection) {}

  async check(timeoutMs = 1_000): Promise<StoreHealthResult> {
    const { kind: store, location } = this.connection;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to SELECT 1 within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      // A PostgreSQL pool that cannot connect, or a PGlite busy with a long transaction, would make a
      // readiness probe hang without the race; the query itself is left to finish or fail on its own.
      await Promise.race([sql`SELECT 1`.execute(this.connection.db), timeout]);
      return { up: true, details: { store, location, latencyMs: Math.round(performance.now() - started) } };
    } catch (error) {
      return {
        up: false,
        details: { store, location, error: error instanceof Error ? error.message : String(error) },
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
