'use strict';
/**
 * A real Apache Kafka broker without Docker: the broker's jars come from Maven Central (fetched
 * once into a cache outside the repository) and run as a plain `java` process, one node in KRaft
 * mode (broker and controller in the same process, no ZooKeeper), listening on 127.0.0.1 only.
 *
 * Used by `npm run kafka` (scripts/kafka.js) and by the e2e tests (test/support/kafka.ts).
 * Plain CommonJS and Node built-ins only, so it runs before `npm ci` and without a build step.
 *
 *   const { ensureKafkaJars, startBroker } = require('./kafka-broker');
 *   const broker = await startBroker({ log: console.log }); // free ports, fresh temp data dir
 *   console.log(broker.brokers); // '127.0.0.1:40123'
 *   await broker.restart();      // same ports and data
 *   await broker.stop();         // the temp data dir is removed
 *
 * Kafka 4.4.0 unless KAFKA_VERSION names another release of the 4.x or 3.9 line (CI also runs the
 * Kafka tests on 3.9.1); each version has its own jar cache.
 */
const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

/** The newest Kafka release on Maven Central when this was written. */
const DEFAULT_KAFKA_VERSION = '4.4.0';
const SCALA_VERSION = '2.13';

/**
 * `$KAFKA_VERSION` or the default. Only lines whose logging set-up is known here are accepted: a
 * broker without a working slf4j binding prints nothing, so startBroker() would never see it ready.
 */
function kafkaVersionFromEnv() {
  const version = process.env.KAFKA_VERSION || DEFAULT_KAFKA_VERSION;
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!match || !(match[1] === '4' || (match[1] === '3' && match[2] === '9'))) {
    throw new Error(
      `KAFKA_VERSION=${version}: must be a Kafka release of the 4.x or 3.9 line, such as ${DEFAULT_KAFKA_VERSION} or 3.9.1`,
    );
  }
  return version;
}
const KAFKA_VERSION = kafkaVersionFromEnv();
const KAFKA_4 = KAFKA_VERSION.startsWith('4.');

/**
 * Both lines log through slf4j 1.7 and print nothing at all without a binding for it. Kafka 3.9
 * configures log4j 1 (reload4j); Kafka 4 moved to log4j2, which needs log4j-slf4j-impl, the binding
 * for slf4j 1.7 (log4j-slf4j2-impl binds slf4j 2 and leaves the broker silent).
 */
const LOGGING = KAFKA_4
  ? {
      artifacts: [
        { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-slf4j-impl', version: '2.24.3' },
        { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core', version: '2.24.3' },
      ],
      configFile: 'log4j2.properties',
      jvmOption: (file) => `-Dlog4j2.configurationFile=${file}`,
      config: log4j2Properties,
    }
  : {
      artifacts: [{ groupId: 'org.slf4j', artifactId: 'slf4j-reload4j', version: '1.7.36' }],
      configFile: 'log4j.properties',
      jvmOption: (file) => `-Dlog4j.configuration=file:${file}`,
      config: log4jProperties,
    };

const MAVEN_ARTIFACTS = [
  { groupId: 'org.apache.kafka', artifactId: `kafka_${SCALA_VERSION}`, version: KAFKA_VERSION },
  ...LOGGING.artifacts,
  // Kafka 4 moved the console tools out of the broker's jar. Only the tools jar itself: what the
  // console producer needs is on the broker's class path already, and the rest of kafka-tools'
  // dependencies (Kafka Connect, Jetty, Jersey) would triple the download.
  ...(KAFKA_4
    ? [
        {
          groupId: 'org.apache.kafka',
          artifactId: 'kafka-tools',
          version: KAFKA_VERSION,
          withoutDependencies: true,
        },
      ]
    : []),
];
/** The cache is reused only if it was fetched for exactly this list. */
const ARTIFACT_LIST = MAVEN_ARTIFACTS.map((a) => `${a.groupId}:${a.artifactId}:${a.version}`).join(',');

/** The classes behind the distribution's bin/ scripts that are run here (the script names a class). */
const SCRIPT_MAIN_CLASSES = {
  'kafka-console-producer.sh': KAFKA_4
    ? 'org.apache.kafka.tools.ConsoleProducer'
    : 'kafka.tools.ConsoleProducer',
};
/** Pinned so the fetch does not depend on whichever plugin version Maven would resolve today. */
const DEPENDENCY_PLUGIN_VERSION = '3.8.1';
/** Written last, after every jar is in place: a fetch that stopped half-way has no marker. */
const MARKER_FILE = '.complete.json';

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;
/** Lines of broker output kept for error messages (a failed start shows why). */
const OUTPUT_TAIL_LINES = 40;

const noop = () => {};

/** `$KAFKA_JARS_DIR`, or `~/.cache/sse-gateway/kafka-<version>`; a folder only these jars live in. */
function kafkaJarsDir() {
  return path.resolve(
    process.env.KAFKA_JARS_DIR || path.join(os.homedir(), '.cache', 'sse-gateway', `kafka-${KAFKA_VERSION}`),
  );
}

/** The marker's jar list, if the marker exists and every jar it names is still there at its size. */
function readCompleteCache(dir) {
  let marker;
  try {
    marker = JSON.parse(fs.readFileSync(path.join(dir, MARKER_FILE), 'utf8'));
  } catch {
    return null; // no marker (never fetched, or a fetch that did not finish) or an unreadable one
  }
  if (
    marker.kafkaVersion !== KAFKA_VERSION ||
    marker.artifacts !== ARTIFACT_LIST ||
    !Array.isArray(marker.jars) ||
    marker.jars.length === 0
  ) {
    return null;
  }
  for (const jar of marker.jars) {
    const stat = fs.statSync(path.join(dir, jar.name), { throwIfNoEntry: false });
    if (!stat || stat.size !== jar.size) {
      return null;
    }
  }
  return marker;
}

function pomXml() {
  const dependencies = MAVEN_ARTIFACTS.map(
    (a) =>
      `    <dependency><groupId>${a.groupId}</groupId><artifactId>${a.artifactId}</artifactId>` +
      `<version>${a.version}</version>` +
      (a.withoutDependencies
        ? '<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions>'
        : '') +
      '</dependency>',
  ).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Throwaway project: only here so Maven resolves Kafka's runtime dependencies. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.sse-gateway</groupId>
  <artifactId>kafka-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${dependencies}
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>${DEPENDENCY_PLUGIN_VERSION}</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
`;
}

function formatBytes(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.round(bytes / 1024)} kB`;
}

/** Maven's own sizes, e.g. `Downloaded from central: https://... (5.9 MB at 3.1 MB/s)`. */
function parseMavenSize(text) {
  const match = /^([\d.]+) (B|kB|MB|GB)$/.exec(text);
  if (!match) {
    return 0;
  }
  const unit = { B: 1, kB: 1024, MB: 1024 * 1024, GB: 1024 * 1024 * 1024 }[match[2]];
  return Number(match[1]) * unit;
}

/**
 * Makes sure Kafka's runtime jars are in the cache folder and returns that folder.
 * Fast when a previous fetch completed (it only checks the marker); otherwise runs Maven, printing
 * what it does and how long it has been at it, and the warnings and errors Maven reports.
 *
 * @param {{ log?: (line: string) => void }} [options]
 * @returns {Promise<string>} the folder holding the jars, for `java -cp "<dir>/*"`
 */
async function ensureKafkaJars({ log = noop } = {}) {
  const dir = kafkaJarsDir();
  if (readCompleteCache(dir)) {
    return dir;
  }
  const started = Date.now();
  const seconds = () => `${Math.round((Date.now() - started) / 1000)} s`;
  log(`Fetching Kafka ${KAFKA_VERSION} jars with Maven into ${dir} (once; later runs reuse them)`);

  fs.mkdirSync(path.dirname(dir), { recursive: true });
  removeAbandonedFetches(path.dirname(dir));
  // Maven copies into a staging folder beside the cache (same file system, so the jars can be
  // renamed into place); two fetches at once each use their own and end with the same files.
  const staging = fs.mkdtempSync(path.join(path.dirname(dir), `.kafka-${KAFKA_VERSION}-fetch-`));
  const removeStaging = () => fs.rmSync(staging, { recursive: true, force: true });
  process.on('exit', removeStaging);
  try {
    const outputDir = path.join(staging, 'jars');
    fs.writeFileSync(path.join(staging, 'pom.xml'), pomXml());
    await runMaven(
      [
        '-B',
        '-f',
        path.join(staging, 'pom.xml'),
        `org.apache.maven.plugins:maven-dependency-plugin:${DEPENDENCY_PLUGIN_VERSION}:copy-dependencies`,
        '-DincludeScope=runtime',
        `-DoutputDirectory=${outputDir}`,
      ],
      { log, seconds },
    );

    const names = fs.readdirSync(outputDir).filter((name) => name.endsWith('.jar'));
    if (!names.includes(`kafka_${SCALA_VERSION}-${KAFKA_VERSION}.jar`)) {
      throw new Error(`Maven finished but ${outputDir} has no kafka_${SCALA_VERSION}-${KAFKA_VERSION}.jar`);
    }
    fs.mkdirSync(dir, { recursive: true });
    // A KAFKA_JARS_DIR used with another KAFKA_VERSION before: its jars would join the class path.
    fs.rmSync(path.join(dir, MARKER_FILE), { force: true });
    for (const stale of fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.jar') && !names.includes(name))) {
      fs.rmSync(path.join(dir, stale), { force: true });
    }
    const jars = names.map((name) => {
      const size = fs.statSync(path.join(outputDir, name)).size;
      fs.renameSync(path.join(outputDir, name), path.join(dir, name));
      return { name, size };
    });
    const marker = {
      kafkaVersion: KAFKA_VERSION,
      artifacts: ARTIFACT_LIST,
      fetchedAt: new Date().toISOString(),
      jars,
    };
    const markerTmp = path.join(staging, MARKER_FILE);
    fs.writeFileSync(markerTmp, `${JSON.stringify(marker, null, 2)}\n`);
    fs.renameSync(markerTmp, path.join(dir, MARKER_FILE));

    const total = jars.reduce((sum, jar) => sum + jar.size, 0);
    log(`Kafka ${KAFKA_VERSION} jars ready: ${jars.length} jars, ${formatBytes(total)}, in ${seconds()}`);
    return dir;
  } finally {
    removeStaging();
    process.removeListener('exit', removeStaging);
  }
}

/**
 * A fetch killed by a signal cannot clean up after itself; its staging folder (tens of MB, never
 * marked complete, so never used) is removed by a later fetch once it is clearly not in progress.
 */
function removeAbandonedFetches(parent) {
  const prefix = `.kafka-${KAFKA_VERSION}-fetch-`;
  for (const name of fs.readdirSync(parent)) {
    const folder = path.join(parent, name);
    if (name.startsWith(prefix) && Date.now() - fs.statSync(folder).mtimeMs > 60 * 60 * 1000) {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  }
}

/**
 * Runs Maven, showing a progress line every few seconds instead of one line per downloaded file
 * (a first fetch downloads a few hundred), and passing warnings and errors through as they come.
 */
function runMaven(args, { log, seconds }) {
  return new Promise((resolve, reject) => {
    const child = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // Killed with us: a fetch nobody waits for anymore should not keep downloading.
    const killChild = () => child.kill('SIGKILL');
    process.on('exit', killChild);

    const tail = [];
    let downloads = 0;
    let downloadedBytes = 0;
    let copied = 0;
    const onLine = (line) => {
      tail.push(line);
      if (tail.length > OUTPUT_TAIL_LINES) {
        tail.shift();
      }
      const downloaded = /^(?:\[INFO\] )?Downloaded from [^:]+: \S+ \(([\d.]+ \w+) at /.exec(line);
      if (downloaded) {
        downloads += 1;
        downloadedBytes += parseMavenSize(downloaded[1]);
      } else if (/^\[INFO\] Copying /.test(line)) {
        copied += 1;
      } else if (/^\[(WARNING|ERROR)\]/.test(line) && line.trim().length > 10) {
        log(`  mvn: ${line}`);
      }
    };
    readline.createInterface({ input: child.stdout }).on('line', onLine);
    readline.createInterface({ input: child.stderr }).on('line', onLine);

    const progress = () => {
      const fetched = downloads
        ? `${downloads} files downloaded (${formatBytes(downloadedBytes)})`
        : 'resolving';
      log(`  ... ${seconds()}: ${fetched}${copied ? `, ${copied} jars copied` : ''}`);
    };
    const ticker = setInterval(progress, 5_000);

    const finish = (error) => {
      clearInterval(ticker);
      process.removeListener('exit', killChild);
      if (error) {
        reject(error);
      } else {
        resolve();
      }
    };
    child.once('error', (error) => {
      const hint =
        error.code === 'ENOENT'
          ? 'Maven (`mvn`) is not on PATH. Install Maven 3.6+ (apt-get install -y maven) and Java 17.'
          : `Could not run Maven: ${error.message}`;
      finish(new Error(hint, { cause: error }));
    });
    child.once('close', (code, signal) => {
      if (code === 0) {
        log(
          `  ... ${seconds()}: Maven done, ${downloads} files downloaded (${formatBytes(downloadedBytes)})`,
        );
        finish();
      } else {
        finish(
          new Error(
            `Maven failed (${signal ?? `exit code ${code}`}) fetching the Kafka jars. Its last lines:\n` +
              tail.join('\n'),
          ),
        );
      }
    });
  });
}

/** Two distinct free loopback ports, held open together so the OS cannot hand out one twice. */
async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((server) => server.address().port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(() => resolve()))));
  }
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

function serverProperties({ port, controllerPort, logDir }) {
  return `# Written by scripts/kafka-broker.js on every start; edits here are overwritten.
# One node that is both broker and controller (KRaft), on loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${logDir}
num.partitions=1
# One node cannot hold three replicas of the internal topics.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# The first consumer group creates __consumer_offsets; one partition instead of 50 makes that
# take a moment instead of seconds on a small machine, and one node gains nothing from 50.
offsets.topic.num.partitions=1
# A lone consumer joins its group at once instead of waiting 3 s for others.
group.initial.rebalance.delay.ms=0
`;
}

/** Kafka 3.9 (log4j 1): warnings and errors, plus the ready line startBroker() waits for. */
function log4jProperties() {
  return `# Written by scripts/kafka-broker.js. Warnings and errors only, plus the line that says the
# broker is ready ("Kafka Server started"), which startBroker() waits for.
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
`;
}

/** Kafka 4 (log4j2): the same output as log4jProperties() gives Kafka 3.9. */
function log4j2Properties() {
  return `# Written by scripts/kafka-broker.js. Warnings and errors only, plus the line that says the
# broker is ready ("Kafka Server started"), which startBroker() waits for.
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
logger.ready.name=kafka.server.KafkaRaftServer
logger.ready.level=INFO
`;
}

function javaCommand() {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/** Runs one of Kafka's command-line tools to completion and returns its stdout. */
function runKafkaTool(jarsDir, logConfigFile, mainClass, args) {
  return new Promise((resolve, reject) => {
    execFile(
      javaCommand(),
      ['-Xmx128m', LOGGING.jvmOption(logConfigFile), '-cp', path.join(jarsDir, '*'), mainClass, ...args],
      { timeout: READY_TIMEOUT_MS },
      (error, stdout, stderr) => {
        if (error) {
          const hint = error.code === 'ENOENT' ? ' (is Java 17 installed and `java` on PATH?)' : '';
          reject(new Error(`${mainClass} ${args.join(' ')} failed${hint}: ${error.message}\n${stderr}`));
        } else {
          resolve(stdout.trim());
        }
      },
    );
  });
}

/**
 * Runs one of the Kafka distribution's bin/ scripts by name, as the `apache/kafka` image would run
 * `/opt/kafka/bin/<script>` (the same class and arguments, this KAFKA_VERSION's jars), with `input`
 * on its stdin. Resolves to its output once it exits 0; rejects with its output otherwise.
 *
 * @param {string} script e.g. 'kafka-console-producer.sh'
 * @param {string[]} args the script's arguments
 * @param {{ input?: string | Buffer, timeoutMs?: number }} [options]
 * @returns {Promise<{ stdout: string, stderr: string }>}
 */
async function runKafkaScript(script, args, { input = '', timeoutMs = READY_TIMEOUT_MS } = {}) {
  const mainClass = SCRIPT_MAIN_CLASSES[script];
  if (!mainClass) {
    throw new Error(`runKafkaScript knows ${Object.keys(SCRIPT_MAIN_CLASSES).join(', ')}, not ${script}`);
  }
  const jarsDir = await ensureKafkaJars();
  return new Promise((resolve, reject) => {
    const child = spawn(javaCommand(), ['-Xmx128m', '-cp', path.join(jarsDir, '*'), mainClass, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`Could not run java for ${script}: ${error.message}`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve({ stdout, stderr });
      } else {
        reject(
          new Error(
            `${script} ${args.join(' ')} (${mainClass}) failed (${signal ?? `exit code ${code}`}):\n${stderr}${stdout}`,
          ),
        );
      }
    });
    child.stdin.end(input);
  });
}

/**
 * Starts a single-node KRaft broker and resolves once it accepts clients.
 *
 * @param {object} [options]
 * @param {number} [options.port] client port; 0 or unset picks a free one
 * @param {number} [options.controllerPort] KRaft controller port; 0 or unset picks a free one
 * @param {string} [options.dataDir] where config and data live; unset means a fresh temp folder,
 *   removed by stop(). An existing, formatted folder is reused with its topics and records.
 * @param {number} [options.heapMb] JVM heap (-Xmx), 512 unless given
 * @param {(line: string) => void} [options.log] progress messages (jar fetch, formatting)
 * @param {(line: string) => void} [options.onOutput] every line the broker prints
 * @param {(code: number | null, signal: string | null) => void} [options.onExit] called when a
 *   started broker exits without stop() or restart() asking it to (it crashed, or was killed)
 */
async function startBroker(options = {}) {
  const log = options.log || noop;
  const onOutput = options.onOutput || noop;
  const onExit = options.onExit || noop;
  const heapMb = options.heapMb || 512;
  const jarsDir = await ensureKafkaJars({ log });

  let port = options.port || 0;
  let controllerPort = options.controllerPort || 0;
  if (!port || !controllerPort) {
    const [a, b] = await freePorts(2);
    port = port || (a === controllerPort ? b : a);
    controllerPort = controllerPort || (b === port ? a : b);
  }

  const ownsDataDir = !options.dataDir;
  const dataDir = ownsDataDir
    ? fs.mkdtempSync(path.join(os.tmpdir(), 'sse-gateway-kafka-'))
    : path.resolve(options.dataDir);
  const logDir = path.join(dataDir, 'kraft-logs');
  const serverFile = path.join(dataDir, 'server.properties');
  const logConfigFile = path.join(dataDir, LOGGING.configFile);
  const brokers = `127.0.0.1:${port}`;

  let child = null;
  let exited = Promise.resolve();
  let stopped = false;
  let stopping = false;
  const tail = [];

  // process 'exit' handlers must be synchronous: SIGKILL is the one way to be sure the JVM is gone
  // before we are. Clean stops go through stop(), which removes this hook.
  const killOnExit = () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    if (ownsDataDir) {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  };
  process.on('exit', killOnExit);

  async function launch() {
    fs.mkdirSync(logDir, { recursive: true });
    fs.writeFileSync(serverFile, serverProperties({ port, controllerPort, logDir }));
    fs.writeFileSync(logConfigFile, LOGGING.config());

    // Formatting gives the folder a cluster id; doing it again would refuse (or wipe) the data a
    // restart is meant to keep, so only a folder without meta.properties is formatted.
    if (!fs.existsSync(path.join(logDir, 'meta.properties'))) {
      log(`Formatting ${logDir} (a new single-node cluster)`);
      const clusterId = await runKafkaTool(jarsDir, logConfigFile, 'kafka.tools.StorageTool', [
        'random-uuid',
      ]);
      await runKafkaTool(jarsDir, logConfigFile, 'kafka.tools.StorageTool', [
        'format',
        '-t',
        clusterId,
        '-c',
        serverFile,
      ]);
    }

    tail.length = 0;
    const started = Date.now();
    const proc = spawn(
      javaCommand(),
      [
        `-Xmx${heapMb}m`,
        LOGGING.jvmOption(logConfigFile),
        '-cp',
        path.join(jarsDir, '*'),
        'kafka.Kafka',
        serverFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    // A jest worker or a script killed with SIGKILL runs no 'exit' handler: a watchdog outside
    // this process ends the JVM within a second of its parent's death, so no broker is left behind.
    if (proc.pid !== undefined) {
      spawn(
        'sh',
        [
          '-c',
          `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${proc.pid} 2>/dev/null; do sleep 1; done; ` +
            `kill -0 ${proc.pid} 2>/dev/null && kill -9 ${proc.pid}`,
        ],
        { stdio: 'ignore', detached: true },
      ).unref();
    }
    // 'close' after a normal exit; 'error' alone when java could not be started at all.
    exited = new Promise((resolve) => {
      proc.once('close', () => resolve());
      proc.once('error', () => resolve());
    });

    let sawStarted = false;
    const onLine = (line) => {
      tail.push(line);
      if (tail.length > OUTPUT_TAIL_LINES) {
        tail.shift();
      }
      if (line.includes('Kafka Server started')) {
        sawStarted = true;
      }
      onOutput(line);
    };
    readline.createInterface({ input: proc.stdout }).on('line', onLine);
    readline.createInterface({ input: proc.stderr }).on('line', onLine);

    let spawnError = null;
    proc.once('error', (error) => (spawnError = error));
    let ready = false;
    proc.once('close', (code, signal) => {
      if (ready && !stopping) {
        onExit(code, signal);
      }
    });

    const failure = (why) => {
      const error = new Error(
        `Kafka broker on ${brokers} (data in ${dataDir}) ${why}. Its last output:\n` +
          (tail.length ? tail.join('\n') : '(nothing)'),
      );
      // For callers that already showed the output as it came (onOutput) and want only the why.
      error.summary = `Kafka broker on ${brokers} (data in ${dataDir}) ${why}`;
      return error;
    };
    const deadline = started + READY_TIMEOUT_MS;
    // The log line comes from inside the JVM; the TCP check proves the listener is really up.
    while (!(sawStarted && (await canConnect(port)))) {
      if (spawnError) {
        throw new Error(`Could not start java (is Java 17 installed and on PATH?): ${spawnError.message}`, {
          cause: spawnError,
        });
      }
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw failure(`exited (${proc.signalCode ?? `code ${proc.exitCode}`}) before it was ready`);
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await exited;
        throw failure(`was not ready after ${READY_TIMEOUT_MS / 1000} s and was killed`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    ready = true;
    handle.pid = proc.pid;
    log(`Kafka ${KAFKA_VERSION} started on ${brokers} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  /** SIGTERM (Kafka's clean shutdown), then SIGKILL if it has not exited after 15 s. */
  async function stopChild() {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) {
      await exited;
      return;
    }
    stopping = true;
    proc.kill('SIGTERM');
    let timer;
    const gaveUp = new Promise((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
    });
    const forced = await Promise.race([exited.then(() => false), gaveUp]);
    clearTimeout(timer);
    if (forced) {
      log(`Kafka broker ${proc.pid} did not stop within ${STOP_GRACE_MS / 1000} s; killing it`);
      proc.kill('SIGKILL');
      await exited;
    }
    stopping = false;
  }

  const handle = {
    brokers,
    port,
    controllerPort,
    dataDir,
    pid: undefined,
    async stop() {
      if (stopped) {
        return;
      }
      stopped = true;
      await stopChild();
      process.removeListener('exit', killOnExit);
      if (ownsDataDir) {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
    async restart() {
      if (stopped) {
        throw new Error(`Kafka broker on ${brokers} was stopped; start a new one instead`);
      }
      await stopChild();
      await launch();
    },
  };

  try {
    await launch();
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return handle;
}

module.exports = {
  KAFKA_VERSION,
  DEFAULT_KAFKA_VERSION,
  kafkaJarsDir,
  ensureKafkaJars,
  runKafkaScript,
  startBroker,
};
