import { backendContract } from '../contracts/backend.js';
import { startS3rver } from '../helpers/s3rver.js';

backendContract('s3 (on s3rver)', async () => {
  const s3 = await startS3rver();
  return { backend: s3.backend(), cleanup: () => s3.close() };
});
