import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { AuthenticatedRequest } from '../../auth/access.guard';
import { redactAccessToken } from '../../logging/redact';
import { requestIdOf } from '../../logging/request-id';
import { hasRequestLine } from '../../logging/request-log.middleware';
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

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  requestId: string;
  details?: unknown;
}

/** Errors from libraries (body-parser) that carry a client-facing 4xx status. */
interface ExposedHttpError {
  status: number;
  expose: true;
  message: string;
}

const isExposedHttpError = (error: unknown): error is ExposedHttpError => {
  if (!(error instanceof Error)) {
    return false;
  }
  const { expose, status } = error as Error & Partial<ExposedHttpError>;
  return expose === true && typeof status === 'number' && status >= 400 && status < 500;
};

/** 503s come in floods while a dependency is down (one per refused publish): one line per this long. */
const UNAVAILABLE_LOG_INTERVAL_MS = 10_000;

/**
 * The one place errors become HTTP answers: domain errors get their status, client errors keep
 * theirs, and anything else is a logged 500 that shows the request id and never a stack trace.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ExceptionFilter');
  private lastUnavailableLogAt = -Infinity;
  private unavailableNotLogged = 0;

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const request = context.getRequest<AuthenticatedRequest & { id?: string }>();
    const response = context.getResponse<Response>();
    // Errors raised before the request logger ran (a broken URL escape) get their id here.
    const requestId = requestIdOf(request, response);

    if (response.headersSent) {
      // A stream that already started cannot get a status any more; end it.
      this.logger.error(`Error after the response started (request ${requestId})`, describe(exception));
      response.end();
      return;
    }

    const { status, message, headers } = this.classify(exception);
    if (status === 503) {
      this.logUnavailable(requestId, message);
    } else if (status >= 500) {
      this.logger.error(`Unhandled error (request ${requestId})`, describe(exception));
    }
    for (const [name, value] of Object.entries(headers)) {
      response.setHeader(name, value);
    }
    const body: ErrorBody = {
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      message,
      requestId,
      ...healthCheckResultOf(exception),
    };
    if (body.details !== undefined) {
      body.message = 'Not ready: a dependency is down (see details)';
    }
    response.status(status).json(body);
    if (!hasRequestLine(request)) {
      this.logRefusal(request, response, requestId);
    }
  }

  /**
   * The request line of a refused request that the request log does not cover: a stream (only
   * streams that start get a line of their own, when they close), or a request refused before the
   * log ran. Attempts to read another user's stream are seen this way. The URL has its token hidden;
   * the user is the token's subject, once a token was verified.
   */
  private logRefusal(request: AuthenticatedRequest, response: Response, requestId: string): void {
    this.logger.log({
      msg: 'request refused',
      req: { id: requestId, method: request.method, url: redactAccessToken(request.originalUrl) },
      res: response, // sent: the serializer shows its status
      route: routePathOf(request),
      user: request.auth?.subject,
    });
  }

  /** Expected when a limit or a transport says no: worth a line, not a stack, and not one per request. */
  private logUnavailable(requestId: string, message: string | string[]): void {
    const now = Date.now();
    if (now - this.lastUnavailableLogAt < UNAVAILABLE_LOG_INTERVAL_MS) {
      this.unavailableNotLogged++;
      return;
    }
    const more =
      this.unavailableNotLogged > 0
        ? ` (and ${this.unavailableNotLogged} more 503 answers in the last ${Math.round((now - this.lastUnavailableLogAt) / 1000)} s, not logged one by one)`
        : '';
    this.logger.warn(`Answered 503 (request ${requestId}): ${String(message)}${more}`);
    this.lastUnavailableLogAt = now;
    this.unavailableNotLogged = 0;
  }

  private classify(exception: unknown): {
    status: number;
    message: string | string[];
    headers: Record<string, string>;
  } {
    if (exception instanceof HttpException) {
      const answer = exception.getResponse();
      const message =
        typeof answer === 'object' && answer !== null && 'message' in answer
          ? (answer as { message: string | string[] }).message
          : exception.message;
      return { status: exception.getStatus(), message, headers: {} };
    }
    if (exception instanceof ConnectionLimitError || exception instanceof ServerDrainingError) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        message: exception.message,
        headers: { 'Retry-After': '5' },
      };
    }
    if (exception instanceof BusUnavailableError) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        message: exception.message,
        headers: { 'Retry-After': String(exception.retryAfterSeconds) },
      };
    }
    if (exception instanceof UserConnectionLimitError) {
      return {
        status: HttpStatus.TOO_MANY_REQUESTS,
        message: exception.message,
        headers: { 'Retry-After': '5' },
      };
    }
    if (
      exception instanceof ReportNotFoundError ||
      exception instanceof UnregisteredEntityError ||
      exception instanceof KafkaTopicNotAllowedError
    ) {
      return { status: HttpStatus.NOT_FOUND, message: exception.message, headers: {} };
    }
    if (exception instanceof EventTooLargeError) {
      return { status: HttpStatus.PAYLOAD_TOO_LARGE, message: exception.message, headers: {} };
    }
    if (exception instanceof IllegalTransitionError) {
      return { status: HttpStatus.CONFLICT, message: exception.message, headers: {} };
    }
    if (isExposedHttpError(exception)) {
      return { status: exception.status, message: exception.message, headers: {} };
    }
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error', headers: {} };
  }
}

/** A failed readiness check (Terminus) keeps its details: which dependency is down, and why. */
function healthCheckResultOf(exception: unknown): { details?: unknown } {
  if (!(exception instanceof HttpException)) {
    return {};
  }
  const answer = exception.getResponse();
  return typeof answer === 'object' && answer !== null && 'details' in answer && 'status' in answer
    ? { details: answer.details }
    : {};
}

/** The route the request matched, as declared (`/kafka/:topic/sse`); undefined before routing. */
function routePathOf(request: Request): string | undefined {
  const route = request.route as { path?: unknown } | undefined;
  return typeof route?.path === 'string' ? route.path : undefined;
}

function describe(exception: unknown): string {
  return exception instanceof Error ? (exception.stack ?? exception.message) : String(exception);
}
