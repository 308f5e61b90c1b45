/**
 * A client of the V8 inspector of a process started with `--inspect=127.0.0.1:0`: forces a full GC,
 * reads the heap, and counts the live objects that have a given prototype (Runtime.queryObjects, as
 * a heap snapshot would, without writing one). The process under test needs no hook of its own.
 */
export class Inspector {
  private nextId = 0;
  private readonly pending = new Map<number, (reply: { result?: unknown; error?: unknown }) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (message: MessageEvent) => {
      const reply = JSON.parse(String(message.data)) as { id?: number; result?: unknown; error?: unknown };
      const settle = reply.id === undefined ? undefined : this.pending.get(reply.id);
      if (settle && reply.id !== undefined) {
        this.pending.delete(reply.id);
        settle(reply);
      }
    });
  }

  /** Connects to the address a process printed: `Debugger listening on ws://...`. */
  static async connect(output: string): Promise<Inspector> {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
    if (!url) {
      throw new Error(`no inspector address in the output:\n${output}`);
    }
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve, { once: true });
      socket.addEventListener('error', reject, { once: true });
    });
    return new Inspector(socket);
  }

  send<T>(method: string, params: object = {}): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, (reply) =>
        reply.error === undefined
          ? resolve(reply.result as T)
          : reject(new Error(`${method}: ${JSON.stringify(reply.error)}`)),
      );
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Evaluates an expression in the process and returns its value (a JSON value). */
  async evaluate<T>(expression: string): Promise<T> {
    const reply = await this.send<{
      result: { value?: T };
      exceptionDetails?: { exception?: { description?: string } };
    }>('Runtime.evaluate', { expression, returnByValue: true });
    if (reply.exceptionDetails) {
      throw new Error(`${expression}: ${reply.exceptionDetails.exception?.description ?? 'threw'}`);
    }
    return reply.result.value as T;
  }

  /** The heap in use after full garbage collections (two: the first may only queue finalizers). */
  async heapUsedAfterGc(): Promise<number> {
    await this.send('HeapProfiler.collectGarbage');
    await this.send('HeapProfiler.collectGarbage');
    return this.evaluate<number>('process.memoryUsage().heapUsed');
  }

  /**
   * How many live objects have the prototype that `prototypeExpression` evaluates to; with `filter`
   * (a function's source, called with each object), only those it returns true for.
   */
  async countObjects(prototypeExpression: string, filter?: string): Promise<number> {
    const prototype = await this.send<{ result: { objectId?: string }; exceptionDetails?: unknown }>(
      'Runtime.evaluate',
      { expression: prototypeExpression },
    );
    if (!prototype.result.objectId) {
      throw new Error(`${prototypeExpression} is not an object: ${JSON.stringify(prototype)}`);
    }
    const found = await this.send<{ objects: { objectId: string } }>('Runtime.queryObjects', {
      prototypeObjectId: prototype.result.objectId,
    });
    const length = await this.send<{ result: { value: number } }>('Runtime.callFunctionOn', {
      objectId: found.objects.objectId,
      functionDeclaration:
        filter === undefined
          ? 'function () { return this.length; }'
          : `function () { return this.filter(${filter}).length; }`,
      returnByValue: true,
    });
    await this.send('Runtime.releaseObject', { objectId: found.objects.objectId });
    await this.send('Runtime.releaseObject', { objectId: prototype.result.objectId });
    return length.result.value;
  }

  close(): void {
    this.socket.close();
  }
}
