// The only reader of process.env: every setting is parsed and validated here, once.
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import proxyaddr from 'proxy-addr';
import { type GatewayPolicy, loadPolicy, PolicyError } from './gateway/policy.js';
import { parseScanningKeys, type ScanningKeysConfig } from './modules/apikey/secret-scanning.js';

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
  /** Without SMTP_URL, log emailed links and codes in full (MAIL_LOG_BODIES; default: LOG_LEVEL debug or trace). */
  mailLogBodies: boolean;
  /** From address of every email (MAIL_FROM). */
  mailFrom: string;
  redisUrl?: string;
  /** Prefix of every Redis key and channel Latchkey uses (several deployments may share one Redis). */
  redisKeyPrefix: string;
  /** How long start-up waits for REDIS_URL before exiting (REDIS_CONNECT_TIMEOUT_SECONDS). */
  redisConnectTimeoutMs: number;
  /** A Redis command unanswered this long fails the request with 503 (REDIS_COMMAND_TIMEOUT_MS). */
  redisCommandTimeoutMs: number;
  /** While cache invalidations may be lost (Redis down), cached entries are trusted this long (CACHE_TRUST_WITHOUT_BUS_SECONDS). */
  cacheTrustWithoutBusMs: number;
  corsOrigins: string[];
  /** Master secret; undefined = generated into dataDir on first start. */
  secret?: string;
  /** Addresses, CIDR ranges or proxy-addr names (loopback, linklocal, uniquelocal) whose X-Forwarded-For is believed. */
  trustedProxies: string[];
  /** Connection limits and timeouts: idle, slowloris and partial-body clients are closed within these. */
  http: HttpLimits;
  logLevel: LogLevel;
  /** Largest request body accepted on any protocol, in bytes. */
  maxBodyBytes: number;
  scrypt: ScryptParams;
  /** Concurrent scrypt computations allowed; more wait in a queue. */
  scryptConcurrency: number;
  /** Sign-ins waiting for scrypt beyond this are refused with 429. */
  scryptQueueLimit: number;
  /** Hash passwords in a separate, lower-priority process (SCRYPT_PROCESS). */
  scryptProcess: boolean;
  /** Concurrent scrypt computations in that process (SCRYPT_PROCESS_CONCURRENCY). */
  scryptProcessConcurrency: number;
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
  /** KEY_PREFIX (or the older API_KEY_PREFIX): the prefix of new keys, e.g. "amk"; keys with other prefixes keep working. */
  apiKeyPrefix: string;
  /** SECRET_SCANNING_PUBLIC_KEYS: GitHub's secret-scanning signing keys (JSON of {key_identifier, key} PEMs, or a URL); unset = no endpoint. */
  secretScanningPublicKeys?: ScanningKeysConfig;
  /** Organization types allowed to hold API keys; empty = all. */
  apiKeyOrgTypes: string[];
  gateway: GatewayConfig;
  /** Serve /metrics on this port instead of the API port (METRICS_PORT); undefined = API port. */
  metricsPort?: number;
  /** METRICS=false: no /metrics, no instrumentation (the key-auth bench measures what it costs). */
  metrics: boolean;
  /** Apply pending migrations at start (MIGRATE_ON_START, default true); off when operators run `latchkey migrate up`. */
  migrateOnStart: boolean;
  /**
   * OTLP/HTTP (JSON) traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, or OTEL_EXPORTER_OTLP_ENDPOINT
   * + "/v1/traces". Unset: no tracing, and no OpenTelemetry module is loaded.
   */
  otlpTracesUrl?: string;
  /** The OAuth 2.1 / OIDC provider (issuer PUBLIC_URL). */
  oauth: OAuthConfig;
  /** Webhook delivery (WEBHOOK_*). */
  webhooks: WebhookConfig;
  /** How often each replica looks for API keys whose expiry notices are due (API_KEY_EXPIRY_CHECK_INTERVAL_MS). */
  apiKeyExpiryCheckIntervalMs: number;
  /** Enterprise SSO: DNS_SERVERS (resolvers for domain TXT checks; empty = the system's), clock skew, plain-http IdPs. */
  sso: { dnsServers: string[]; clockSkewSeconds: number; allowInsecureIdp: boolean };
}

interface OAuthConfig {
  /** OAUTH_DYNAMIC_REGISTRATION: off (default), token (RFC 7591 with OAUTH_REGISTRATION_TOKEN as the initial access token) or open (anyone, e.g. MCP clients). */
  registration: 'off' | 'token' | 'open';
  /** OAUTH_REGISTRATION_TOKEN: the initial access token dynamic registration requires in `token` mode. */
  registrationToken?: string;
  /** OAUTH_RESOURCES: resource indicators (RFC 8707) besides PUBLIC_URL that tokens may be issued for. */
  resources: string[];
}

interface WebhookConfig {
  /** WEBHOOK_ALLOW_PRIVATE: allow receivers on private, loopback and link-local addresses (tests, internal receivers). */
  allowPrivate: boolean;
  /** WEBHOOK_WORKER: this replica delivers (default true). */
  worker: boolean;
  intervalMs: number;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxDelayMs: number;
  retryWindowSeconds: number;
  concurrency: number;
  /** WEBHOOK_SECRET_OVERLAP_SECONDS: how long a rotated-out secret still signs, unless the call says. */
  defaultOverlapSeconds: number;
}

interface GatewayConfig {
  /** GATEWAY_POLICY, parsed and validated; undefined = no forward-auth, ext_authz or built-in gateway routes. */
  policy?: GatewayPolicy;
  /** GATEWAY_UPSTREAM: where the built-in gateway proxies allowed product requests. */
  upstream?: string;
  /** GATEWAY_UPSTREAM_TIMEOUT_MS: no response headers from the upstream in this long → 504. */
  upstreamTimeoutMs: number;
  /** GATEWAY_ASSERTION_AUDIENCE: `aud` of X-Latchkey-Assertion. */
  assertionAudience: string;
}

interface HttpLimits {
  /** Complete request headers must arrive within this (also the wait for a new connection's first byte). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this; else 408 and the connection closes. */
  requestTimeoutMs: number;
  /** An HTTP/1.1 keep-alive connection with no request is closed after this. */
  keepAliveTimeoutMs: number;
  /** A socket (HTTP/1.1) or session (HTTP/2) with no traffic at all is closed after this. */
  idleTimeoutMs: number;
  /** Open TCP connections at once; more are refused. */
  maxConnections: number;
  /** Concurrent streams per HTTP/2 session (SETTINGS_MAX_CONCURRENT_STREAMS). */
  h2MaxConcurrentStreams: number;
  /** Open HTTP/2 sessions at once; more are refused. */
  h2MaxSessions: number;
  /** Largest header block accepted (SETTINGS_MAX_HEADER_LIST_SIZE), in bytes. */
  h2MaxHeaderListBytes: number;
  /** Memory one HTTP/2 session may buffer before new streams are refused, in MiB. */
  h2MaxSessionMemoryMb: number;
  /** Requests running at once; more wait, and a freed slot goes to the next connection in turn. */
  maxInFlight: number;
  /** Requests one connection (HTTP/2 session or HTTP/1.1 socket) may have running at once. */
  maxInFlightPerConnection: number;
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

function proxies(env: Env): string[] {
  const entries = list(env, 'TRUSTED_PROXIES');
  try {
    proxyaddr.compile(entries);
  } catch (e) {
    throw new ConfigError(`TRUSTED_PROXIES must be IP addresses, CIDR ranges or loopback/linklocal/uniquelocal: ${(e as Error).message}`);
  }
  return entries;
}

function httpLimits(env: Env): HttpLimits {
  const ms = (name: string, def: number) => int(env, name, def, 100, 3_600_000);
  const requestTimeoutMs = ms('HTTP_REQUEST_TIMEOUT_MS', 30_000);
  return {
    // The headers are part of the request: their bound can never be the longer one.
    headersTimeoutMs: Math.min(ms('HTTP_HEADERS_TIMEOUT_MS', 20_000), requestTimeoutMs),
    requestTimeoutMs,
    keepAliveTimeoutMs: ms('HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000),
    idleTimeoutMs: ms('HTTP_IDLE_TIMEOUT_MS', 30_000),
    maxConnections: int(env, 'MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    h2MaxConcurrentStreams: int(env, 'HTTP2_MAX_CONCURRENT_STREAMS', 100, 1, 10_000),
    h2MaxSessions: int(env, 'HTTP2_MAX_SESSIONS', 1_000, 1, 1_000_000),
    h2MaxHeaderListBytes: int(env, 'HTTP2_MAX_HEADER_LIST_BYTES', 32 * 1024, 1024, 1024 * 1024),
    h2MaxSessionMemoryMb: int(env, 'HTTP2_MAX_SESSION_MEMORY_MB', 10, 1, 1024),
    maxInFlight: int(env, 'MAX_IN_FLIGHT', 32, 1, 100_000),
    maxInFlightPerConnection: int(env, 'MAX_IN_FLIGHT_PER_CONNECTION', 8, 1, 10_000),
  };
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
  const apiKeyPrefix = env.KEY_PREFIX || env.API_KEY_PREFIX || 'lk';
  if (!/^[a-z][a-z0-9]{0,15}(_[a-z0-9]{1,16})?$/.test(apiKeyPrefix)) {
    throw new ConfigError(`KEY_PREFIX must be lowercase letters/digits, optionally with one "_", got "${apiKeyPrefix}"`);
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
    mailLogBodies: bool(env, 'MAIL_LOG_BODIES', logLevel === 'debug' || logLevel === 'trace'),
    mailFrom: env.MAIL_FROM || `Latchkey <no-reply@${/^[\d.]+$|^\[|^localhost$/.test(mailDomain) ? 'localhost' : mailDomain}>`,
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisKeyPrefix: env.REDIS_KEY_PREFIX || 'latchkey:',
    redisConnectTimeoutMs: int(env, 'REDIS_CONNECT_TIMEOUT_SECONDS', 5, 1, 60) * 1000,
    redisCommandTimeoutMs: int(env, 'REDIS_COMMAND_TIMEOUT_MS', 1000, 50, 60_000),
    cacheTrustWithoutBusMs: int(env, 'CACHE_TRUST_WITHOUT_BUS_SECONDS', 5, 0, 300) * 1000,
    corsOrigins: list(env, 'CORS_ORIGINS'),
    secret,
    trustedProxies: proxies(env),
    http: httpLimits(env),
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
    // Hash in a separate process at a lower CPU priority; it may use every core (the event loop comes first).
    scryptProcess: bool(env, 'SCRYPT_PROCESS', true),
    scryptProcessConcurrency: int(env, 'SCRYPT_PROCESS_CONCURRENCY', os.availableParallelism(), 1, 64),
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
    secretScanningPublicKeys: scanningKeys(env),
    apiKeyOrgTypes: list(env, 'API_KEY_ORG_TYPES'),
    gateway: gatewayConfig(env),
    metricsPort: env.METRICS_PORT ? int(env, 'METRICS_PORT', 0, 0, 65535) : undefined,
    metrics: bool(env, 'METRICS', true),
    migrateOnStart: bool(env, 'MIGRATE_ON_START', true),
    otlpTracesUrl: otlpTracesUrl(env),
    oauth: oauthConfig(env),
    webhooks: {
      allowPrivate: bool(env, 'WEBHOOK_ALLOW_PRIVATE', false),
      worker: bool(env, 'WEBHOOK_WORKER', true),
      intervalMs: int(env, 'WEBHOOK_WORKER_INTERVAL_MS', 1000, 5, 3_600_000),
      timeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
      retryBaseMs: int(env, 'WEBHOOK_RETRY_BASE_MS', 5_000, 1, 3_600_000),
      retryMaxDelayMs: int(env, 'WEBHOOK_RETRY_MAX_DELAY_MS', 3_600_000, 1, 24 * 3_600_000),
      retryWindowSeconds: int(env, 'WEBHOOK_RETRY_WINDOW_SECONDS', 24 * 3600, 1, 7 * 24 * 3600),
      concurrency: int(env, 'WEBHOOK_CONCURRENCY', 16, 1, 256),
      defaultOverlapSeconds: int(env, 'WEBHOOK_SECRET_OVERLAP_SECONDS', 24 * 3600, 0, 7 * 24 * 3600),
    },
    apiKeyExpiryCheckIntervalMs: int(env, 'API_KEY_EXPIRY_CHECK_INTERVAL_MS', 60_000, 5, 24 * 3_600_000),
    sso: {
      dnsServers: dnsServers(env),
      clockSkewSeconds: int(env, 'SSO_CLOCK_SKEW_SECONDS', 60, 0, 600),
      // http:// issuers and SAML endpoints (a test IdP on loopback); never in production.
      allowInsecureIdp: bool(env, 'SSO_ALLOW_INSECURE_IDP', false),
    },
  };
}

function otlpTracesUrl(env: Env): string | undefined {
  const traces = url(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http:', 'https:']);
  if (traces) return traces;
  const base = url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']);
  return base && `${base.replace(/\/$/, '')}/v1/traces`;
}

function scanningKeys(env: Env): ScanningKeysConfig | undefined {
  const raw = env.SECRET_SCANNING_PUBLIC_KEYS;
  if (!raw?.trim()) return undefined;
  try {
    return parseScanningKeys(raw);
  } catch (e) {
    throw new ConfigError(`SECRET_SCANNING_PUBLIC_KEYS must be a URL or JSON [{"key_identifier": "…", "key": "-----BEGIN PUBLIC KEY-----…"}]: ${(e as Error).message}`);
  }
}

function oauthConfig(env: Env): OAuthConfig {
  const registration = (env.OAUTH_DYNAMIC_REGISTRATION || 'off').toLowerCase();
  if (registration !== 'off' && registration !== 'token' && registration !== 'open')
    throw new ConfigError(`OAUTH_DYNAMIC_REGISTRATION must be off, token or open, got "${env.OAUTH_DYNAMIC_REGISTRATION}"`);
  const resources = list(env, 'OAUTH_RESOURCES').map((r) => url({ r }, 'r', ['http:', 'https:'])!);
  const registrationToken = env.OAUTH_REGISTRATION_TOKEN || undefined;
  if (registration === 'token' && (!registrationToken || registrationToken.length < 32))
    throw new ConfigError('OAUTH_DYNAMIC_REGISTRATION=token needs OAUTH_REGISTRATION_TOKEN (at least 32 characters)');
  return { registration, registrationToken, resources };
}

/** DNS_SERVERS: `ip` or `ip:port` (IPv6 as `[ip]:port`), as node:dns setServers takes them. */
function dnsServers(env: Env): string[] {
  const entries = list(env, 'DNS_SERVERS');
  for (const e of entries) {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(e) ?? /^([^:]+)(?::(\d+))?$/.exec(e) ?? [e, e];
    if (!net.isIP(m[1]) || (m[2] !== undefined && !(Number(m[2]) >= 1 && Number(m[2]) <= 65535))) {
      throw new ConfigError(`DNS_SERVERS must be IP addresses, optionally with :port, got "${e}"`);
    }
  }
  return entries;
}

function gatewayConfig(env: Env): GatewayConfig {
  let policy: GatewayPolicy | undefined;
  if (env.GATEWAY_POLICY) {
    try {
      policy = loadPolicy(path.resolve(env.GATEWAY_POLICY));
    } catch (e) {
      if (e instanceof PolicyError) throw new ConfigError(`GATEWAY_POLICY ${e.message}`);
      throw e;
    }
  }
  const upstream = url(env, 'GATEWAY_UPSTREAM', ['http:', 'https:']);
  if (upstream && !policy) throw new ConfigError('GATEWAY_UPSTREAM needs GATEWAY_POLICY (the routes the gateway may forward)');
  return {
    policy,
    upstream: upstream?.replace(/\/$/, ''),
    upstreamTimeoutMs: int(env, 'GATEWAY_UPSTREAM_TIMEOUT_MS', 30_000, 100, 600_000),
    assertionAudience: env.GATEWAY_ASSERTION_AUDIENCE || 'latchkey-gateway',
  };
}
