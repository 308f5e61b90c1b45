/** Types for kafka-broker.js (plain CommonJS, so that it runs without a build step). */

/** The Kafka release this process runs: `$KAFKA_VERSION` (4.x or 3.9.x), else DEFAULT_KAFKA_VERSION. */
export declare const KAFKA_VERSION: string;
/** The newest Kafka release on Maven Central when the script was written. */
export declare const DEFAULT_KAFKA_VERSION: string;

/** `$KAFKA_JARS_DIR`, or `~/.cache/sse-gateway/kafka-<version>`. */
export declare function kafkaJarsDir(): string;

/** Fetches the broker's jars with Maven unless the cache is complete; resolves to the jar folder. */
export declare function ensureKafkaJars(options?: { log?: (line: string) => void }): Promise<string>;

/**
 * Runs one of the distribution's bin/ scripts (its class, this version's jars) with `input` on stdin,
 * as `/opt/kafka/bin/<script>` would in the `apache/kafka` image; rejects unless it exits 0.
 */
export declare function runKafkaScript(
  script: 'kafka-console-producer.sh',
  args: readonly string[],
  options?: { input?: string | Buffer; timeoutMs?: number },
): Promise<{ stdout: string; stderr: string }>;

export interface StartBrokerOptions {
  /** Client port; 0 or unset picks a free one. */
  port?: number;
  /** KRaft controller port; 0 or unset picks a free one. */
  controllerPort?: number;
  /** Config and data; unset means a fresh temp folder that stop() removes. */
  dataDir?: string;
  /** JVM heap in MB (-Xmx); 512 unless given. */
  heapMb?: number;
  /** Progress messages (jar fetch, formatting, started in N s). */
  log?: (line: string) => void;
  /** Every line the broker prints. */
  onOutput?: (line: string) => void;
  /** A started broker exited without stop() or restart() asking it to. */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface RunningBroker {
  /** `127.0.0.1:<port>`, for KAFKA_BROKERS or `kcat -b`. */
  readonly brokers: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
  /** The JVM's pid; changes on restart(). */
  readonly pid: number;
  /** SIGTERM, wait for exit (SIGKILL after 15 s); removes a temp data folder. */
  stop(): Promise<void>;
  /** stop() then start again on the same ports and data folder, keeping topics and records. */
  restart(): Promise<void>;
}

/** Starts a single-node KRaft broker on 127.0.0.1; resolves once it accepts connections. */
export declare function startBroker(options?: StartBrokerOptions): Promise<RunningBroker>;
