import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createServer, type CallFsServer } from '../../src/server.js';
import { createLogger } from '../../src/observability/logger.js';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';
export const ALICE = { name: 'alice', uid: 1001, gid: 1001, groups: [2000], api_keys: ['alice-key-0123456789abcdef'], password: 'alice-password' };
export const BOB = { name: 'bob', uid: 1002, gid: 1002, groups: [2000], api_keys: ['bob-key-0123456789abcdef01'], password: 'bob-password' };

export interface TestServer {
  server: CallFsServer;
  url: string;
  dataDir: string;
  config: Config;
  /** fetch with the admin key (or the given key) against the server. */
  request(method: string, urlPath: string, init?: { key?: string | null; headers?: Record<string, string>; body?: RequestInit["body"] }): Promise<Response>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Deep-merged into the base config (YAML-shaped keys). */
  config?: Record<string, unknown>;
  dataDir?: string;
  /** Collects log lines (JSON strings) when given. */
  logLines?: string[];
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = cur && typeof cur === 'object' && !Array.isArray(cur) && v && typeof v === 'object' && !Array.isArray(v) ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** A real CallFS server on a free loopback port with its own data directory. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'callfs-test-'));
  const overrides = deepMerge(
    {
      data_dir: dataDir,
      server: { listen_addr: '127.0.0.1:0' },
      auth: { api_keys: [ADMIN_KEY], users: [ALICE, BOB] },
      log: { level: options.logLines ? 'debug' : 'warn' },
    },
    options.config ?? {},
  );
  const config = loadConfig({ env: {}, overrides });
  const lines = options.logLines;
  // The server's own logger factory, so its redaction rules are what the tests see.
  const logger = createLogger(config.log, lines ? { write: (s: string) => void lines.push(s) } : pino.destination({ dest: 2, sync: false }));
  const server = await createServer(config, { logger });
  const url = await server.listen();
  const ownsDir = !options.dataDir;
  return {
    server,
    url,
    dataDir,
    config,
    request(method, urlPath, init = {}) {
      const headers: Record<string, string> = { ...(init.headers ?? {}) };
      const key = init.key === undefined ? ADMIN_KEY : init.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      return fetch(url + urlPath, { method, headers, body: init.body ?? undefined, duplex: 'half' } as RequestInit);
    },
    async close() {
      await server.close();
      if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
