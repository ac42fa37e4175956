import pino, { type Logger } from 'pino';
import type { Config } from '../config/schema.js';

/**
 * Paths that may carry a secret anywhere in a log object. Credentials are
 * never put into log objects on purpose; this is the second line of defence.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'password',
  'api_key',
  'apiKey',
  'token',
  '*.password',
  '*.api_keys',
  '*.api_key',
  '*.token',
  '*.secret',
];

export function createLogger(config: Config['log'], destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.level,
    redact: { paths: REDACT_PATHS, censor: '***' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  if (config.format === 'pretty' || config.format === 'console') {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: process.stdout.isTTY, translateTime: 'SYS:standard' } } });
  }
  return pino(options);
}
