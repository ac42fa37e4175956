import type { FastifyInstance } from 'fastify';
import type { Vfs } from '../../vfs/vfs.js';

/**
 * GET /v1/usage: the bytes of content stored, and the size and free space of where they are stored
 * (null for a backend without a fixed size, such as S3). The mount answers statfs (df) with it.
 */
export async function usageRoutes(app: FastifyInstance, { vfs }: { vfs: Vfs }): Promise<void> {
  app.get('/v1/usage', async () => {
    const [used, capacity] = await Promise.all([vfs.usedBytes(), vfs.capacity()]);
    return {
      used_bytes: used,
      total_bytes: capacity?.totalBytes ?? null,
      free_bytes: capacity?.freeBytes ?? null,
      available_bytes: capacity?.availableBytes ?? null,
    };
  });
}
