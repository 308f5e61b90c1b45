import {
  applyDecorators,
  ArgumentsHost,
  Catch,
  Controller,
  RpcExceptionFilter,
  UseFilters,
} from '@nestjs/common';
import { Observable, throwError } from 'rxjs';

/**
 * Hands a handler's error to the bus transport as it was thrown. The application's global filter
 * answers HTTP requests and cannot deal with a record; the transport decides what a failure means
 * (a command is read again, a fan-out record is logged and counted).
 */
@Catch()
export class RethrowToBusFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}

/**
 * Marks a class whose `@EventPattern` methods handle bus records: a controller (where Nest looks
 * for message handlers) whose errors reach the transport unchanged.
 */
export const BusHandlers = (): ClassDecorator =>
  applyDecorators(Controller(), UseFilters(RethrowToBusFilter));
