// GitHub's secret-scanning partner program: GitHub POSTs the tokens of our format it found in public
// (a JSON array of {token, type, url, source}), signed with ECDSA P-256 / SHA-256 over the raw body
// (headers Github-Public-Key-Identifier and Github-Public-Key-Signature, a base64 DER signature).
// Each live key is revoked through the leak path (owner and admins emailed, `api_key.leaked`), and
// the answer labels every token true_positive (one of our keys) or false_positive, by its SHA-256.
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Actor } from '../audit/events.js';
import type { LeakReports } from './leak.js';

const SECRET_SCANNING_PATH = '/api/secret-scanning/github';
const MAX_TOKENS = 1_000;
const URL_KEYS_TTL_MS = 3_600_000;
const URL_REFETCH_MIN_MS = 60_000;

/** SECRET_SCANNING_PUBLIC_KEYS: the keys themselves, or where to fetch them (GitHub's meta endpoint). */
export type ScanningKeysConfig = { keys: { keyIdentifier: string; key: string }[] } | { url: string };

/** Parses SECRET_SCANNING_PUBLIC_KEYS: a URL, or JSON `[{key_identifier, key}]` / `{public_keys: [...]}` with PEM keys. */
export function parseScanningKeys(raw: string): ScanningKeysConfig {
  const s = raw.trim();
  if (/^https?:\/\//i.test(s)) return { url: new URL(s).toString() };
  const parsed = JSON.parse(s) as unknown;
  const list = Array.isArray(parsed) ? parsed : (parsed as { public_keys?: unknown })?.public_keys;
  if (!Array.isArray(list) || !list.length) throw new Error('must be a URL or a JSON array of {key_identifier, key}');
  const keys = list.map((k: { key_identifier?: unknown; key?: unknown }) => {
    if (typeof k?.key_identifier !== 'string' || typeof k?.key !== 'string') throw new Error('each entry needs key_identifier and key (a PEM public key)');
    createPublicKey(k.key); // refuse a malformed PEM at start-up
    return { keyIdentifier: k.key_identifier, key: k.key };
  });
  return { keys };
}

interface Found {
  token: string;
  type: string;
  url: string;
  source: string;
}

export interface ScanningResult {
  token_hash: string;
  token_type: string;
  label: 'true_positive' | 'false_positive';
}

export class SecretScanning {
  private keys = new Map<string, KeyObject>();
  private fetchedAt = 0;

  constructor(
    private readonly config: ScanningKeysConfig,
    private readonly leaks: Pick<LeakReports, 'leaked'>,
    private readonly fetchJson: (url: string) => Promise<unknown> = async (url) => (await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(5_000) })).json(),
  ) {
    if ('keys' in config) for (const k of config.keys) this.keys.set(k.keyIdentifier, createPublicKey(k.key));
  }

  private async keyFor(id: string): Promise<KeyObject | undefined> {
    if ('keys' in this.config) return this.keys.get(id);
    const age = Date.now() - this.fetchedAt;
    if (age > URL_KEYS_TTL_MS || (!this.keys.has(id) && age > URL_REFETCH_MIN_MS)) {
      this.fetchedAt = Date.now();
      const body = (await this.fetchJson(this.config.url)) as { public_keys?: { key_identifier: string; key: string }[] };
      const next = new Map<string, KeyObject>();
      for (const k of body.public_keys ?? []) {
        try {
          next.set(k.key_identifier, createPublicKey(k.key));
        } catch {
          // a malformed entry is skipped, the others still verify
        }
      }
      this.keys = next;
    }
    return this.keys.get(id);
  }

  /** True when `signature` (base64 DER) is a valid signature of `body` by the key `keyId`. */
  async verified(body: Buffer, keyId: string, signature: string): Promise<boolean> {
    if (!keyId || !signature) return false;
    const key = await this.keyFor(keyId).catch(() => undefined);
    if (!key) return false;
    try {
      return verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
    } catch {
      return false;
    }
  }

  /** Revokes every live key among the tokens and labels each one. */
  async handle(found: Found[], actor: Actor): Promise<ScanningResult[]> {
    const out: ScanningResult[] = [];
    for (const f of found) {
      const ours = await this.leaks.leaked(f.token, `GitHub secret scanning: ${f.url || f.source || 'public source'}`, actor);
      out.push({ token_hash: createHash('sha256').update(f.token).digest('hex'), token_type: f.type, label: ours ? 'true_positive' : 'false_positive' });
    }
    return out;
  }
}

function parseBody(body: Buffer): Found[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return 'The body must be a JSON array';
  }
  if (!Array.isArray(parsed)) return 'The body must be a JSON array';
  if (parsed.length > MAX_TOKENS) return `At most ${MAX_TOKENS} tokens per request`;
  const out: Found[] = [];
  for (const [i, e] of parsed.entries()) {
    const o = e as Record<string, unknown>;
    if (!o || typeof o.token !== 'string' || !o.token || o.token.length > 512) return `[${i}].token must be a non-empty string`;
    const str = (v: unknown) => (typeof v === 'string' ? v.slice(0, 2048) : '');
    out.push({ token: o.token, type: str(o.type), url: str(o.url), source: str(o.source) });
  }
  return out;
}

async function readBody(req: IncomingMessage | Http2ServerRequest, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) return undefined;
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
};

/** The HTTP side: POST only, the raw body verified before it is parsed; 401 for a bad or missing signature. */
async function serveSecretScanning(scanning: SecretScanning, req: IncomingMessage | Http2ServerRequest, res: ServerResponse, actor: Actor, maxBodyBytes: number): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return send(res, 405, { message: 'Use POST' });
  }
  const body = await readBody(req, maxBodyBytes);
  if (!body) return send(res, 413, { message: 'Body too large' });
  const header = (n: string) => {
    const v = req.headers[n];
    return typeof v === 'string' ? v.trim() : '';
  };
  if (!(await scanning.verified(body, header('github-public-key-identifier'), header('github-public-key-signature')))) {
    return send(res, 401, { message: 'Invalid or missing Github-Public-Key-Signature' });
  }
  const found = parseBody(body);
  if (typeof found === 'string') return send(res, 400, { message: found });
  send(res, 200, await scanning.handle(found, actor));
}

/**
 * server.ts's hook: answers SECRET_SCANNING_PATH (true) in its own ORM context, or returns false.
 * Without SECRET_SCANNING_PUBLIC_KEYS the path is not served (404 as any unknown path).
 */
export function secretScanningRoute(
  scanning: SecretScanning | undefined,
  inContext: <T>(fn: () => Promise<T>) => Promise<T>,
  maxBodyBytes: number,
  onError: (err: unknown) => void,
): (path: string, req: IncomingMessage | Http2ServerRequest, res: ServerResponse, client: { ip: string; userAgent: string }) => boolean {
  return (path, req, res, client) => {
    if (!scanning || path !== SECRET_SCANNING_PATH) return false;
    const actor: Actor = { actorType: 'system', actorId: '', ip: client.ip, userAgent: client.userAgent };
    inContext(() => serveSecretScanning(scanning, req, res, actor, maxBodyBytes)).catch((err) => {
      onError(err);
      if (!res.headersSent) send(res, 500, { message: 'Internal error' });
      else res.destroy();
    });
    return true;
  };
}
