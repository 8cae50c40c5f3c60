/**
 * pino JSON logs. Call sites never log secrets; `redact` is the belt and braces for anything shaped like an
 * Authorization header, a token or a password that might slip into a logged object.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'password',
  '*.password',
  'token',
  '*.token',
  'identityToken',
  '*.identityToken',
  'registryToken',
  '*.registryToken',
  'credentials',
  '*.credentials',
  'data',
  '*.data',
];

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const config = {
    level: options.level ?? 'info',
    base: { name: 'pinwarden' },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}
