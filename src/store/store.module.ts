import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { Kysely } from 'kysely';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Database } from './database';
import { StoreConnection } from './store-connection';
import { DATABASE, STORE_CONNECTION } from './store.constants';
import { StoreHealth } from './store.health';

/**
 * The reports database: PostgreSQL when DATABASE_URL is set, else embedded PGlite in DATA_DIR/pglite.
 * The provider is async, so migrations have run before any module that uses it starts, and so before the
 * application listens.
 */
@Global()
@Module({
  providers: [
    {
      provide: STORE_CONNECTION,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): Promise<StoreConnection> =>
        StoreConnection.open(
          { databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR },
          new Logger(StoreModule.name),
        ),
    },
    {
      provide: DATABASE,
      inject: [STORE_CONNECTION],
      useFactory: (connection: StoreConnection): Kysely<Database> => connection.db,
    },
    StoreHealth,
  ],
  exports: [DATABASE, STORE_CONNECTION, StoreHealth],
})
export class StoreModule implements OnApplicationShutdown {
  constructor(@Inject(STORE_CONNECTION) private readonly connection: StoreConnection) {}

  /** Last of the hooks, so whatever wrote to the store in earlier hooks (the outbox relay) is done. */
  onApplicationShutdown(): Promise<void> {
    return this.connection.close();
  }
}
