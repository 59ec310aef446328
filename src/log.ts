// JSON logs; credentials and secrets are redacted wherever they appear.
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

const SECRET_KEYS = ['authorization', 'cookie', 'set-cookie', 'x-api-key', 'password', 'newPassword', 'token', 'key', 'refreshToken', 'accessToken', 'secret'];

export function createLogger(level: LogLevel, destination?: DestinationStream, mixin?: () => Record<string, string>): Logger {
  const options = {
    level,
    ...(mixin ? { mixin } : {}), // the trace id when tracing is on (ops/tracing.ts)
    base: undefined,
    redact: {
      paths: [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`), ...SECRET_KEYS.map((k) => `*.*.${k}`)],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
