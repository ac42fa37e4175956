import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../test/helpers/free-port.js';

export interface BenchServer {
  name: string;
  /** Base URL of the WebDAV tree (ends without slash), or null if the server has none. */
  dav: string | null;
  /** Base URL for plain GET of the same files (nginx serves static files only). */
  headers: Record<string, string>;
  /** Directory on disk whose files the server serves directly (for pre-populating), if any. */
  docroot: string | null;
  peakRssKb(): number;
  stop(): Promise<void>;
  /** The server's own error log, quoted in the report if the server fails mid-run. */
  errorLog?: string;
}

async function waitHttp(url: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    const ok = await fetch(url, { method: 'OPTIONS' }).then(() => true, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start`);
}

/** VmHWM of a process and its descendants (Apache forks workers), in kB. */
export function treePeakRssKb(rootPid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* the process went away */
    }
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop()!;
    try {
      total += Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
}

export const BENCH_KEY = 'bench-admin-key-0123456789abcdef';

export async function startCallFs(dir: string): Promise<BenchServer> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'config.yaml');
  writeFileSync(config, `data_dir: ${dir}\nserver:\n  listen_addr: 127.0.0.1:${port}\nauth:\n  api_keys: [${BENCH_KEY}]\nlog:\n  level: warn\n`);
  const child = spawn('bin/callfs.js', ['server', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitHttp(`http://127.0.0.1:${port}/health`, child, 'callfs');
  return {
    name: 'callfs',
    dav: `http://127.0.0.1:${port}/dav`,
    headers: { authorization: 'Basic ' + Buffer.from(`bench:${BENCH_KEY}`).toString('base64') },
    docroot: null,
    peakRssKb: () => treePeakRssKb(child.pid!),
    stop: stopper(child),
  };
}

export function has(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
}

export async function startApache(dir: string): Promise<BenchServer> {
  const port = await freePort();
  const docroot = path.join(dir, 'www');
  mkdirSync(docroot, { recursive: true });
  mkdirSync(path.join(dir, 'run'), { recursive: true });
  // Apache's workers drop to www-data: give it the tree, and a path it can traverse.
  for (let p = dir; p !== path.dirname(p); p = path.dirname(p)) spawnSync('chmod', ['a+x', p]);
  spawnSync('chown', ['-R', 'www-data:www-data', dir]);
  const mods = '/usr/lib/apache2/modules';
  const conf = path.join(dir, 'httpd.conf');
  writeFileSync(
    conf,
    `ServerRoot ${dir}
Listen 127.0.0.1:${port}
PidFile ${dir}/run/httpd.pid
ServerName localhost
User www-data
Group www-data
LoadModule mpm_event_module ${mods}/mod_mpm_event.so
LoadModule authz_core_module ${mods}/mod_authz_core.so
LoadModule dav_module ${mods}/mod_dav.so
LoadModule dav_fs_module ${mods}/mod_dav_fs.so
LoadModule mime_module ${mods}/mod_mime.so
TypesConfig /etc/mime.types
ErrorLog ${dir}/error.log
LogLevel warn
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 300
StartServers 2
ServerLimit 16
ThreadsPerChild 25
MaxRequestWorkers 400
# No child is stopped for being idle mid-run: one that exits closes all its keep-alive connections at once.
MinSpareThreads 25
MaxSpareThreads 400
DavLockDB ${dir}/run/DavLock
DocumentRoot ${docroot}
<Directory ${docroot}>
  Dav On
  Require all granted
  LimitRequestBody 0
  LimitXMLRequestBody 0
</Directory>
`,
  );
  const child = spawn('apache2', ['-f', conf, '-DFOREGROUND'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, APACHE_RUN_DIR: `${dir}/run` } });
  await waitHttp(`http://127.0.0.1:${port}/`, child, 'apache2');
  return {
    name: 'apache-mod_dav',
    dav: `http://127.0.0.1:${port}`,
    headers: {},
    docroot,
    peakRssKb: () => treePeakRssKb(child.pid!),
    stop: stopper(child),
    errorLog: `${dir}/error.log`,
  };
}

export async function startRclone(dir: string): Promise<BenchServer> {
  const port = await freePort();
  const docroot = path.join(dir, 'files');
  mkdirSync(docroot, { recursive: true });
  const child = spawn('rclone', ['serve', 'webdav', docroot, '--addr', `127.0.0.1:${port}`, '--config', '/dev/null', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitHttp(`http://127.0.0.1:${port}/`, child, 'rclone');
  return { name: 'rclone-webdav', dav: `http://127.0.0.1:${port}`, headers: {}, docroot, peakRssKb: () => treePeakRssKb(child.pid!), stop: stopper(child) };
}

export async function startNginx(dir: string): Promise<BenchServer> {
  const port = await freePort();
  const docroot = path.join(dir, 'html');
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  mkdirSync(docroot, { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 2;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  keepalive_timeout 300s;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server { listen 127.0.0.1:${port}; root ${docroot}; }
}
`,
  );
  const child = spawn('nginx', ['-c', conf, '-p', dir, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitHttp(`http://127.0.0.1:${port}/`, child, 'nginx');
  return { name: 'nginx-static', dav: `http://127.0.0.1:${port}`, headers: {}, docroot, peakRssKb: () => treePeakRssKb(child.pid!), stop: stopper(child) };
}
