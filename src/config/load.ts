import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';

/** A configuration problem; the message names the field and how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const ENV_PREFIX = 'CALLFS_';

/** CALLFS_SERVER__LISTEN_ADDR=:9000 → { server: { listen_addr: ':9000' } }. Values are read as YAML scalars. */
export function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const keys = name.slice(ENV_PREFIX.length).toLowerCase().split('__');
    if (keys.some((k) => k === '')) continue;
    let node = result;
    for (const key of keys.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]!] = parseScalar(raw);
  }
  return result;
}

function parseScalar(raw: string): unknown {
  try {
    const value = YAML.parse(raw) as unknown;
    // Keep strings that YAML would turn into null or a map by accident (":8443").
    return value === null || (typeof value === 'object' && !Array.isArray(value)) ? raw : value;
  } catch {
    return raw;
  }
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? merge(b, v) : v;
  }
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.length ? issue.path.join('.') : '(top level)';
      if (issue.code === 'unrecognized_keys') {
        const keys = (issue as { keys: string[] }).keys.map((k) => (issue.path.length ? `${field}.${k}` : k));
        return `${keys.join(', ')}: unknown key (check the spelling against the configuration reference)`;
      }
      return `${field}: ${issue.message}`;
    })
    .join('\n');
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides from command-line flags, applied last. */
  overrides?: Record<string, unknown>;
}

export function loadConfig(options: LoadOptions = {}): Config {
  let fromFile: Record<string, unknown> = {};
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${options.file}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = YAML.parse(text, { prettyErrors: true });
    } catch (err) {
      throw new ConfigError(`${options.file} is not valid YAML: ${(err as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined && !isPlainObject(parsed)) throw new ConfigError(`${options.file}: the top level must be a mapping of sections`);
    fromFile = (parsed as Record<string, unknown> | null) ?? {};
  }
  const merged = merge(merge(fromFile, envOverrides(options.env ?? process.env)), options.overrides ?? {});
  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(formatIssues(result.error));
  const config = result.data;
  // Relative paths in a config file are relative to the file, not to wherever the server was started.
  const base = options.file ? path.dirname(path.resolve(options.file)) : process.cwd();
  config.data_dir = path.resolve(base, config.data_dir);
  if (config.backend.localfs_root_path) config.backend.localfs_root_path = path.resolve(base, config.backend.localfs_root_path);
  if (config.metadata_store.sqlite_path) config.metadata_store.sqlite_path = path.resolve(base, config.metadata_store.sqlite_path);
  for (const key of ['cert_file', 'key_file'] as const) {
    const value = config.server[key];
    if (value) config.server[key] = path.resolve(base, value);
  }
  return config;
}

const SECRET_KEY = /key|secret|password|token/i;

/** A copy fit for printing or logging: secrets replaced, DSN passwords masked. */
export function maskSecrets(value: unknown, keyName = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, keyName));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  if (typeof value === 'string') {
    if (SECRET_KEY.test(keyName) && !/_(path|file)$/.test(keyName)) return value ? '***' : value;
    if (keyName === 'dsn') return maskDsn(value);
  }
  return value;
}

export function maskDsn(dsn: string): string {
  return dsn.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@').replace(/(password=)[^\s&]+/i, '$1***');
}
