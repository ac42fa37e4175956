import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { dereference, validate } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { OpenAPIV3_1 } from 'openapi-types';
import { parse } from 'yaml';
import { HTTP_ERRORS, REST_ERRORS } from '../../src/rest/errors.js';
import { OPENAPI_DOCUMENT } from '../../src/rest/openapi.js';
import { ALICE, startTestServer, type TestServer } from '../helpers/server.js';

// ajv-formats is CommonJS with a default export that TypeScript sees one level down.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const source = (): OpenAPIV3_1.Document => parse(readFileSync(OPENAPI_DOCUMENT, 'utf8')) as OpenAPIV3_1.Document;
let server: TestServer;
let api: OpenAPIV3_1.Document;

before(async () => {
  server = await startTestServer({ config: { auth: { users: [ALICE] } } });
  api = (await dereference(source())) as OpenAPIV3_1.Document;
});
after(() => server.close());

test('docs/openapi.yaml is a valid OpenAPI 3.1 document', async () => {
  const result = await validate(source());
  assert.ok(result.valid, result.valid ? '' : JSON.stringify(result.errors, null, 2));
  assert.equal(api.openapi, '3.1.0');
});

test('the Error schema names every error code the API answers with, and no other', () => {
  const documented = (api.components!.schemas!.Error as OpenAPIV3_1.SchemaObject).properties!.code as OpenAPIV3_1.SchemaObject;
  const answered = new Set([...Object.values(REST_ERRORS), ...Object.values(HTTP_ERRORS)].map((e) => e.code));
  assert.deepEqual(new Set(documented.enum as string[]), answered);
});

/** The server's routes as `METHOD /path`, from fastify's route tree; tree paths and parameters written as the document writes them. */
function serverOperations(): Set<string> {
  const tree = server.server.app.printRoutes({ commonPrefix: false });
  const stack: string[] = [];
  const operations = new Set<string>();
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+) \(([A-Z, ]+)\)$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    const full = (stack[depth - 1] ?? '') + m[2]!;
    stack.push(full);
    if (full.startsWith('/dav') || full.startsWith('/internal/')) continue; // WebDAV and the nodes' own routes are not this API
    const documented = full
      .replace(/^(\/v1\/(?:files|directories))(\/?\*)?$/, '$1/{path}')
      .replace(/:(\w+)/g, '{$1}');
    for (const method of m[3]!.split(', ')) operations.add(`${method} ${documented}`);
  }
  return operations;
}

test('the document describes exactly the routes the server has', () => {
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(api.paths!)) {
    for (const method of ['get', 'head', 'post', 'put', 'patch', 'delete', 'options']) {
      if ((item as Record<string, unknown>)[method]) documented.add(`${method.toUpperCase()} ${path}`);
    }
  }
  assert.deepEqual([...serverOperations()].sort(), [...documented].sort());
});

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

/**
 * Checks a real response against the document: its status is one the operation lists, a JSON body
 * matches that response's schema, and every documented header it carries matches its schema.
 * Returns the parsed JSON body, if any.
 */
async function conforms(method: string, path: string, response: Response): Promise<unknown> {
  const operation = (api.paths![path] as Record<string, OpenAPIV3_1.OperationObject>)[method.toLowerCase()];
  assert.ok(operation, `${method} ${path} is documented`);
  const documented = operation.responses![String(response.status)] as OpenAPIV3_1.ResponseObject | undefined;
  assert.ok(documented, `${method} ${path}: status ${response.status} is documented (body: ${await response.clone().text()})`);
  for (const [name, header] of Object.entries(documented.headers ?? {})) {
    const value = response.headers.get(name);
    const schema = (header as OpenAPIV3_1.HeaderObject).schema;
    if (value === null || !schema) continue;
    assert.ok(ajv.validate(schema, value), `${method} ${path} ${response.status}: header ${name}: ${value}: ${ajv.errorsText()}`);
  }
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('application/json') || method === 'HEAD') {
    await response.arrayBuffer();
    return undefined;
  }
  const body: unknown = await response.json();
  const schema = documented.content?.['application/json']?.schema;
  assert.ok(schema, `${method} ${path} ${response.status}: a JSON body is documented`);
  assert.ok(ajv.validate(schema, body), `${method} ${path} ${response.status}: ${JSON.stringify(body)}: ${ajv.errorsText()}`);
  return body;
}

test('a live server answers as the document says, errors included', async () => {
  const files = '/v1/files/{path}';
  const call = (method: string, url: string, init?: Parameters<TestServer['request']>[2]) => server.request(method, url, init);

  await conforms('POST', files, await call('POST', '/v1/files/api/', {}));
  const created = (await conforms('PUT', files, await call('PUT', '/v1/files/api/a.txt', { body: 'hello', headers: { 'X-CallFS-Mode': '0640' } }))) as { size: number; mode: string };
  assert.deepEqual([created.size, created.mode], [5, '0640']);
  await conforms('PUT', files, await call('PUT', '/v1/files/api/a.txt', { body: 'hello again' }));
  await conforms('POST', files, await call('POST', '/v1/files/api/a.txt', { body: 'x' }));
  await conforms('PUT', files, await call('PUT', '/v1/files/none/a.txt', { body: 'x' }));
  await conforms('PUT', files, await call('PUT', '/v1/files/api/a.txt', { body: 'x', headers: { 'If-Match': '"stale"' } }));
  await conforms('PUT', files, await call('PUT', '/v1/files/api/alice-cannot', { key: ALICE.api_keys[0], body: 'x' }));
  await conforms('PUT', files, await call('PUT', '/v1/files/api/a.txt', { key: 'wrong-key-0123456789abcdef', body: 'x' }));

  await conforms('GET', files, await call('GET', '/v1/files/api/a.txt'));
  await conforms('GET', files, await call('GET', '/v1/files/api/a.txt', { headers: { Range: 'bytes=0-4' } }));
  await conforms('GET', files, await call('GET', '/v1/files/api/a.txt', { headers: { Range: 'bytes=100-' } }));
  await conforms('GET', files, await call('GET', '/v1/files/api/'));
  await conforms('GET', files, await call('GET', '/v1/files/api/missing'));
  await conforms('GET', files, await call('GET', '/v1/files/a/../../x'));
  await conforms('HEAD', files, await call('HEAD', '/v1/files/api/a.txt'));

  await conforms('PATCH', files, await call('PATCH', '/v1/files/api/a.txt', { body: JSON.stringify({ destination: '/api/b.txt', mode: '0600' }) }));
  await conforms('PATCH', files, await call('PATCH', '/v1/files/api/b.txt', { body: JSON.stringify({ colour: 'red' }) }));

  const dirs = '/v1/directories/{path}';
  for (const n of ['c', 'd', 'e']) await call('PUT', `/v1/files/api/${n}`, { body: n });
  const page = (await conforms('GET', dirs, await call('GET', '/v1/directories/api?limit=2'))) as { next_cursor?: string };
  assert.ok(page.next_cursor);
  await conforms('GET', dirs, await call('GET', `/v1/directories/api?limit=2&cursor=${page.next_cursor}`));
  await conforms('GET', dirs, await call('GET', '/v1/directories/?recursive=true'));
  await conforms('GET', dirs, await call('GET', '/v1/directories/api/b.txt'));
  await conforms('GET', dirs, await call('GET', '/v1/directories/api?limit=zero'));

  await conforms('DELETE', files, await call('DELETE', '/v1/files/api'));
  await conforms('DELETE', files, await call('DELETE', '/v1/files/api/c'));

  const link = (await conforms('POST', '/v1/links/generate', await call('POST', '/v1/links/generate', { body: JSON.stringify({ path: '/api/b.txt', expiry_seconds: 60 }) }))) as { token: string };
  await conforms('POST', '/v1/links/generate', await call('POST', '/v1/links/generate', { body: JSON.stringify({ expiry_seconds: 60 }) }));
  await conforms('GET', '/download/{token}', await call('GET', `/download/${link.token}`, { key: null }));
  await conforms('GET', '/download/{token}', await call('GET', `/download/${link.token}`, { key: null }));
  await conforms('GET', '/download/{token}', await call('GET', '/download/not-a-token', { key: null }));

  const usage = (await conforms('GET', '/v1/usage', await call('GET', '/v1/usage'))) as { used_bytes: number; available_bytes: number };
  assert.ok(usage.used_bytes > 0 && usage.available_bytes > 0, JSON.stringify(usage));
  await conforms('GET', '/v1/usage', await call('GET', '/v1/usage', { key: null }));

  await conforms('GET', '/health', await call('GET', '/health', { key: null }));
  await conforms('GET', '/metrics', await call('GET', '/metrics', { key: null }));
  const served = await conforms('GET', '/openapi.json', await call('GET', '/openapi.json', { key: null }));
  assert.deepEqual(served, source(), 'the server serves the document as it is in docs/');
});
