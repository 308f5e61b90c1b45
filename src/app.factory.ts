import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { join } from 'node:path';
import { AppModule } from './app.module';
import { BusTransportStrategy } from './bus/transport/bus-transport.strategy';
import { DrainingExpressAdapter } from './common/http/express-adapter';
import { publicFiles } from './common/http/public-files';
import { APP_CONFIG, AppConfig } from './config/app-config';

/** Builds the configured application, not yet listening: used by main.ts and by the e2e tests. */
export async function createApp(env: Record<string, string | undefined> = {}): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(env),
    new DrainingExpressAdapter(),
    {
      bodyParser: false,
      bufferLogs: true,
    },
  );
  app.useLogger(app.get(Logger));
  // Bus records reach @EventPattern handlers through this transport, on Kafka and in memory. It
  // listens now, before the bus starts with the application, so command consumers are known then.
  // The app's global pipe and filter are for HTTP and stay there: the pipe would reject every
  // @Ctx() context as a DTO with unknown fields, and the filter answers with an HTTP response.
  app.connectMicroservice({ strategy: app.get(BusTransportStrategy) }, { inheritAppConfig: false });
  await app.startAllMicroservices();
  const config = app.get<AppConfig>(APP_CONFIG);
  const server = app.getHttpServer();
  // Bounds how long a client may take to send a request (a slow body is not held for Node's 300 s).
  // Streams are unaffected: the timeouts stop once the request has arrived, however long the answer lasts.
  server.headersTimeout = config.HTTP_HEADERS_TIMEOUT_MS;
  server.requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
  app.disable('x-powered-by');
  // Answers are small and never cached; hashing each one for an ETag is wasted work.
  app.set('etag', false);

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('SSE gateway')
      .setDescription(
        'Pushes live events to browsers over Server-Sent Events. Every stream sends `retry:` first, ' +
          'an `id:` on every event, keep-alive comments, and resumes after `Last-Event-ID`.',
      )
      .setVersion('0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'AUTH_MODE=jwt' })
      .addCookieAuth('access_token')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  // The reports page (public/, plain files, no build step) at /.
  app.use(publicFiles(join(__dirname, '..', 'public')));
  // The browser build of the client package (client/, built by `npm run build`): a page imports
  // /client/index.js as an ES module, no bundler needed.
  app.use('/client', publicFiles(join(__dirname, '..', 'client', 'dist', 'browser')));
  return app;
}
