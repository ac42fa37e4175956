import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { parse } from 'yaml';

/** docs/openapi.yaml, from src/rest or dist/rest alike. */
export const OPENAPI_DOCUMENT = fileURLToPath(new URL('../../docs/openapi.yaml', import.meta.url));

/** GET /openapi.json: the API's description, for client generators and API explorers; no auth, like /health. */
export async function openapiRoute(app: FastifyInstance): Promise<void> {
  let json: Promise<string> | null = null;
  app.get('/openapi.json', async (_request, reply) => {
    // Read on first use: a server that nobody asks for it never parses it.
    json ??= readFile(OPENAPI_DOCUMENT, 'utf8').then(
      (text) => JSON.stringify(parse(text)),
      (err: unknown) => {
        json = null;
        throw err;
      },
    );
    return reply.type('application/json; charset=utf-8').send(await json);
  });
}
