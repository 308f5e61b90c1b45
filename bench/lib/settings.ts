/**
 * Settings declared once, in a table: each has a flag, usually an environment variable, a default, a range
 * or the values it takes, and a line of help. A flag wins over the variable, the variable over the default.
 * `--name=value` and `--name value` both work; `--help` prints the table.
 */

type Kind =
  /** a number in [min, max], rounded down */
  | 'int'
  /** a number in [min, max] */
  | 'number'
  | 'string'
  /** comma-separated, each one of `choices` when they are given */
  | 'list'
  /** comma-separated numbers, each in [min, max] */
  | 'numbers'
  /** separated by spaces or commas (node flags) */
  | 'words'
  /** '0' is off, anything else on */
  | 'switch'
  /** a flag without a value */
  | 'flag';

export interface SettingSpec {
  flag: string;
  /** Another flag name for the same setting (`--only` for `--scenarios`). */
  alias?: string;
  env?: string;
  kind: Kind;
  default: string;
  min?: number;
  max?: number;
  choices?: readonly string[];
  help: string;
}

export type SettingsTable = Record<string, SettingSpec>;

/** The variable of a flag: BENCH_ and the flag in upper case with underscores (`--kafka-seconds`: BENCH_KAFKA_SECONDS). */
const envOf = (flag: string): string => `BENCH_${flag.toUpperCase().replace(/-/g, '_')}`;

/** Builders for a table's rows, each with its BENCH_* variable. */
export const setting = {
  int: (flag: string, def: number, [min, max]: readonly [number, number], help: string) =>
    ({ flag, env: envOf(flag), kind: 'int', default: String(def), min, max, help }) as const,
  number: (flag: string, def: number, [min, max]: readonly [number, number], help: string) =>
    ({ flag, env: envOf(flag), kind: 'number', default: String(def), min, max, help }) as const,
  text: (flag: string, def: string, help: string, choices?: readonly string[]) =>
    ({ flag, env: envOf(flag), kind: 'string', default: def, choices, help }) as const,
  list: (flag: string, choices: readonly string[], def: string, help: string) =>
    ({ flag, env: envOf(flag), kind: 'list', default: def, choices, help }) as const,
  numbers: (flag: string, [min, max]: readonly [number, number], help: string) =>
    ({ flag, env: envOf(flag), kind: 'numbers', default: '', min, max, help }) as const,
  words: (flag: string, help: string) =>
    ({ flag, env: envOf(flag), kind: 'words', default: '', help }) as const,
  on: (flag: string, help: string) =>
    ({ flag, env: envOf(flag), kind: 'switch', default: '1', help }) as const,
};

type ValueOf<S extends SettingSpec> = S['kind'] extends 'int' | 'number'
  ? number
  : S['kind'] extends 'numbers'
    ? number[]
    : S['kind'] extends 'list' | 'words'
      ? string[]
      : S['kind'] extends 'switch' | 'flag'
        ? boolean
        : string;

export type Settings<T extends SettingsTable> = { [K in keyof T]: ValueOf<T[K]> } & {
  /** Whether a flag or the environment set it (false: the default). */
  given: ReadonlySet<keyof T>;
  help: boolean;
};

const splitList = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

export function parseSettings<T extends SettingsTable>(
  table: T,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Settings<T> {
  const byFlag = new Map<string, keyof T>();
  for (const [name, spec] of Object.entries(table)) {
    byFlag.set(spec.flag, name);
    if (spec.alias) {
      byFlag.set(spec.alias, name);
    }
  }
  const flags = new Map<keyof T, string>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(argv[i]);
    if (m?.[1] === 'help') {
      help = true;
      continue;
    }
    const name = m ? byFlag.get(m[1]) : undefined;
    if (!m || name === undefined) {
      throw new Error(`unknown argument ${argv[i]} (--help lists the settings)`);
    }
    if (table[name].kind === 'flag') {
      flags.set(name, m[2] ?? '1');
      continue;
    }
    const value = m[2] ?? argv[i + 1];
    if (value === undefined || (m[2] === undefined && value.startsWith('--'))) {
      throw new Error(`--${m[1]} needs a value (--${m[1]}=value or --${m[1]} value)`);
    }
    if (m[2] === undefined) {
      i++;
    }
    flags.set(name, value);
  }
  const given = new Set<keyof T>();
  const out: Record<string, unknown> = { given, help };
  for (const [name, spec] of Object.entries(table)) {
    const raw = flags.get(name) ?? (spec.env !== undefined ? env[spec.env] : undefined);
    if (raw !== undefined) {
      given.add(name);
    }
    out[name] = convert(spec, raw ?? spec.default);
  }
  return out as Settings<T>;
}

function inRange(spec: SettingSpec, raw: string, label: string): number {
  const v = Number(raw);
  const { min = -Infinity, max = Infinity } = spec;
  if (raw.trim() === '' || !Number.isFinite(v) || v < min || v > max) {
    throw new Error(`${label} must be a number in [${min}, ${max}]`);
  }
  return v;
}

function convert(spec: SettingSpec, raw: string): unknown {
  const label = spec.env ?? `--${spec.flag}`;
  switch (spec.kind) {
    case 'int':
    case 'number': {
      const v = inRange(spec, raw, label);
      return spec.kind === 'int' ? Math.floor(v) : v;
    }
    case 'numbers':
      return splitList(raw).map((v) => inRange(spec, v, `each of ${label}`));
    case 'list': {
      const values = splitList(raw);
      for (const v of values) {
        if (spec.choices && !spec.choices.includes(v)) {
          throw new Error(`unknown ${spec.flag.replace(/s$/, '')} ${v}; known: ${spec.choices.join(', ')}`);
        }
      }
      return values;
    }
    case 'words':
      return splitList(raw.replace(/\s+/g, ','));
    case 'switch':
      return raw !== '0';
    case 'flag':
      return raw !== '' && raw !== '0';
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new Error(`${label} must be one of ${spec.choices.join(', ')}`);
      }
      return raw;
  }
}

/** The table as text: flag, variable, default and range, then the help line. */
export function helpText(table: SettingsTable, usage: string): string {
  const lines = [usage, '', 'Settings (a flag wins over its variable):'];
  for (const spec of Object.values(table)) {
    const flag =
      `--${spec.flag}${spec.kind === 'flag' ? '' : '=' + (spec.kind === 'list' || spec.kind === 'numbers' ? 'a,b' : 'V')}` +
      (spec.alias ? ` (or --${spec.alias})` : '');
    const range =
      spec.min !== undefined && spec.max !== undefined
        ? ` [${spec.min}, ${spec.max}]`
        : spec.choices && spec.kind !== 'list'
          ? ` (${spec.choices.join(' | ')})`
          : '';
    const def = spec.kind === 'flag' ? '' : ` default ${spec.default === '' ? '""' : spec.default}${range}`;
    lines.push(`  ${flag}${spec.env ? `  ${spec.env}` : ''}${def}`);
    lines.push(`      ${spec.help}`);
  }
  return lines.join('\n') + '\n';
}
