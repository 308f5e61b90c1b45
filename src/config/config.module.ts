import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from './app-config';
import { loadConfig } from './environment-variables';

@Global()
@Module({})
export class ConfigModule {
  /** Configuration from `process.env`, or from the given overrides (tests). */
  static forRoot(overrides: Record<string, string | undefined> = {}): DynamicModule {
    const config: AppConfig = loadConfig({ ...process.env, ...overrides });
    return {
      module: ConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
