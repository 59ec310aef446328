// The only reader of process.env: every setting is parsed and validated here, once.
import os from 'node:os';
import path from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

export interface Config {
  port: number;
  host: string;
  /** postgres://… of a real server; undefined = embedded PGlite in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  publicUrl: string;
  smtpUrl?: string;
  /** From address of every email (MAIL_FROM). */
  mailFrom: string;
  redisUrl?: string;
  /** Prefix of every Redis key Latchkey writes (several deployments may share one Redis). */
  redisKeyPrefix: string;
  corsOrigins: string[];
  /** Master secret; undefined = generated into dataDir on first start. */
  secret?: string;
  trustedProxies: string[];
  logLevel: LogLevel;
  /** Largest request body accepted on any protocol, in bytes. */
  maxBodyBytes: number;
  scrypt: ScryptParams;
  /** Concurrent scrypt computations allowed; more wait in a queue. */
  scryptConcurrency: number;
  /** Sign-ins waiting for scrypt beyond this are refused with 429. */
  scryptQueueLimit: number;
  sessionTtlSeconds: number;
  requireEmailVerification: boolean;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  signingKeyRotationDays: number;
  /** A spent refresh token presented again within this many seconds is a lost response, not theft. */
  refreshReuseGraceSeconds: number;
  /** Throttles on sign-in, sign-up, magic links, password reset and verification, per action. */
  authThrottle: {
    ip: { limit: number; windowSeconds: number };
    email: { limit: number; windowSeconds: number };
  };
  exchangeTokenTtlSeconds: number;
  /** SignInWithApiKey calls allowed per key per minute (seed 004: 5). */
  exchangeRateLimitPerMinute: number;
  apiKeyPrefix: string;
  /** Organization types allowed to hold API keys; empty = all. */
  apiKeyOrgTypes: string[];
  /** Serve /metrics on this port instead of the API port (METRICS_PORT); undefined = API port. */
  metricsPort?: number;
  /** Apply pending migrations at start (MIGRATE_ON_START, default true); off when operators run `latchkey migrate up`. */
  migrateOnStart: boolean;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return def;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL (${protocols.join(', ')}), got "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  }
  return raw;
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env): Config {
  const port = int(env, 'PORT', 8080, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  const logLevel = (env.LOG_LEVEL || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }
  const secret = env.SECRET || undefined;
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError('SECRET must be at least 32 characters');
  }
  const apiKeyPrefix = env.API_KEY_PREFIX || 'lk';
  if (!/^[a-z][a-z0-9]{0,15}(_[a-z0-9]{1,16})?$/.test(apiKeyPrefix)) {
    throw new ConfigError(`API_KEY_PREFIX must be lowercase letters/digits, optionally with one "_", got "${apiKeyPrefix}"`);
  }
  const publicUrl = (url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://${host}:${port}`).replace(/\/$/, '');
  const mailDomain = new URL(publicUrl).hostname;
  return {
    port,
    host,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: path.resolve(env.DATA_DIR || './.data'),
    publicUrl,
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: env.MAIL_FROM || `Latchkey <no-reply@${/^[\d.]+$|^\[|^localhost$/.test(mailDomain) ? 'localhost' : mailDomain}>`,
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisKeyPrefix: env.REDIS_KEY_PREFIX || 'latchkey:',
    corsOrigins: list(env, 'CORS_ORIGINS'),
    secret,
    trustedProxies: list(env, 'TRUSTED_PROXIES'),
    logLevel,
    maxBodyBytes: int(env, 'MAX_BODY_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    scrypt: {
      logN: int(env, 'SCRYPT_LOG_N', 15, 1, 20),
      r: int(env, 'SCRYPT_R', 8, 1, 32),
      p: int(env, 'SCRYPT_P', 3, 1, 16),
    },
    // Leave a core to the event loop: key- and JWT-authenticated requests keep their latency during a sign-in flood.
    scryptConcurrency: int(env, 'SCRYPT_CONCURRENCY', Math.max(1, os.availableParallelism() - 1), 1, 64),
    scryptQueueLimit: int(env, 'SCRYPT_QUEUE_LIMIT', 64, 1, 100_000),
    sessionTtlSeconds: int(env, 'SESSION_TTL_SECONDS', 30 * 24 * 3600, 60, 365 * 24 * 3600),
    requireEmailVerification: bool(env, 'REQUIRE_EMAIL_VERIFICATION', false),
    accessTokenTtlSeconds: int(env, 'ACCESS_TOKEN_TTL_SECONDS', 15 * 60, 10, 24 * 3600),
    refreshTokenTtlSeconds: int(env, 'REFRESH_TOKEN_TTL_SECONDS', 30 * 24 * 3600, 60, 365 * 24 * 3600),
    signingKeyRotationDays: int(env, 'SIGNING_KEY_ROTATION_DAYS', 30, 1, 3650),
    refreshReuseGraceSeconds: int(env, 'REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300),
    authThrottle: {
      ip: { limit: int(env, 'AUTH_IP_LIMIT', 30, 1, 10_000_000), windowSeconds: int(env, 'AUTH_IP_WINDOW_SECONDS', 60, 1, 86_400) },
      email: { limit: int(env, 'AUTH_EMAIL_LIMIT', 10, 1, 10_000_000), windowSeconds: int(env, 'AUTH_EMAIL_WINDOW_SECONDS', 900, 1, 86_400) },
    },
    exchangeTokenTtlSeconds: int(env, 'EXCHANGE_TOKEN_TTL_SECONDS', 15 * 60, 10, 24 * 3600),
    exchangeRateLimitPerMinute: int(env, 'EXCHANGE_RATE_LIMIT_PER_MINUTE', 5, 1, 1_000_000),
    apiKeyPrefix,
    apiKeyOrgTypes: list(env, 'API_KEY_ORG_TYPES'),
    metricsPort: env.METRICS_PORT ? int(env, 'METRICS_PORT', 0, 0, 65535) : undefined,
    migrateOnStart: bool(env, 'MIGRATE_ON_START', true),
  };
}
