import './common/runtime/v8-tuning';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { APP_CONFIG, AppConfig } from './config/app-config';
import { ConfigValidationError } from './config/environment-variables';

async function bootstrap(): Promise<void> {
  const app = await createApp();
  const config = app.get<AppConfig>(APP_CONFIG);
  const logger = new Logger('Bootstrap');

  // SIGTERM: refuse new streams, end open ones with a retry hint, close the server, exit 0.
  // Nest's own shutdown hooks would re-raise the signal and so exit with 143 instead.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      return;
    }
    stopping = true;
    logger.log(`${signal} received: draining streams and shutting down`);
    const deadline = setTimeout(() => {
      logger.error(`Shutdown took longer than ${config.SHUTDOWN_TIMEOUT_MS} ms; exiting anyway`);
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('Shutdown failed', error instanceof Error ? error.stack : String(error));
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  if (config.HOST === undefined) {
    await app.listen(config.PORT);
  } else {
    await app.listen(config.PORT, config.HOST);
  }
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  logger.log(`listening on ${url} (API docs at ${url}/docs)`);
}

bootstrap().catch((error: unknown) => {
  // Configuration errors name the variable; say so plainly, without a stack trace.
  if (error instanceof ConfigValidationError) {
    console.error(error.message);
  } else {
    console.error(error);
  }
  process.exit(1);
});
