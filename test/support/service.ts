import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { TEST_KAFKA_CLIENT_ID, waitUntil } from './app';
import { sharedDatabaseUrl } from './postgres';

export const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

export interface Service {
  child: ChildProcess;
  output: string;
  baseUrl: string;
  exit: Promise<number | null>;
}

/** Runs the built service (`node dist/main.js`) as its own process on a free loopback port. */
export async function startService(env: Record<string, string> = {}): Promise<Service> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      HOST: '127.0.0.1',
      SSE_RETRY_MS: '250',
      DATABASE_URL: sharedDatabaseUrl(),
      KAFKA_CLIENT_ID: TEST_KAFKA_CLIENT_ID,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const service: Service = {
    child,
    output: '',
    baseUrl: '',
    exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout.on('data', (chunk: Buffer) => (service.output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (service.output += chunk.toString()));
  try {
    await waitUntil(
      () => /listening on (http:\/\/[\d.]+:\d+)/.test(service.output) || child.exitCode !== null,
      'the service listens (its log level must show info lines)',
      15_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  service.baseUrl = /listening on (http:\/\/[\d.]+:\d+)/.exec(service.output)?.[1] ?? '';
  return service;
}
