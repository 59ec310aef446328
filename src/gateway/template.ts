// Route templates of the gateway policy: "METHOD /path/{var}/…", "*" for any method, a "*" segment
// for any one segment and a final "**" for any rest. Request paths are split and decoded once; dot
// segments and encoded slashes are refused, so a path cannot climb out of the prefix it matched.
import { DomainError } from '../modules/common/errors.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

type Segment = { kind: 'literal'; value: string } | { kind: 'var'; name: string } | { kind: 'star' } | { kind: 'rest' };

export interface Template {
  /** An upper-case method, or '*' for any. */
  method: string;
  segments: Segment[];
  /** As written in the policy ("GET /customer"). */
  source: string;
}

const LITERAL_RE = /^[A-Za-z0-9\-._~!$&'()+,;=:@%]+$/;
const VAR_RE = /^\{([a-z_][a-z0-9_]*)\}$/;

/** Parses a `match:` value; throws an Error whose message says what is wrong. */
export function parseTemplate(source: string): Template {
  const m = /^(\S+)\s+(\S+)$/.exec(source.trim());
  if (!m) throw new Error(`match must be "METHOD /path" (e.g. "GET /customer" or "* /data/**"), got "${source}"`);
  const [, method, path] = m;
  if (method !== '*' && !(METHODS as readonly string[]).includes(method)) {
    throw new Error(`unknown method "${method}" (expected * or one of ${METHODS.join(', ')})`);
  }
  if (!path.startsWith('/')) throw new Error(`path must start with "/", got "${path}"`);
  if (/[?#]/.test(path)) throw new Error(`path must not contain a query or fragment: "${path}"`);
  const raw = path === '/' ? [] : path.slice(1).split('/');
  const names = new Set<string>();
  const segments = raw.map((seg, i): Segment => {
    if (seg === '') throw new Error(`empty path segment in "${path}"`);
    if (seg === '**') {
      if (i !== raw.length - 1) throw new Error(`"**" may only be the last segment, in "${path}"`);
      return { kind: 'rest' };
    }
    if (seg === '*') return { kind: 'star' };
    const v = VAR_RE.exec(seg);
    if (v) {
      if (names.has(v[1])) throw new Error(`variable {${v[1]}} appears twice in "${path}"`);
      names.add(v[1]);
      return { kind: 'var', name: v[1] };
    }
    if (/[{}]/.test(seg)) throw new Error(`bad variable "${seg}": a variable is a whole segment, {lower_snake_case}`);
    if (seg.includes('*')) throw new Error(`"${seg}": wildcards must be a whole segment ("*" or a final "**")`);
    if (seg === '.' || seg === '..') throw new Error(`dot segment "${seg}" in "${path}"`);
    if (!LITERAL_RE.test(seg)) throw new Error(`invalid character in path segment "${seg}"`);
    let value: string;
    try {
      value = decodeURIComponent(seg);
    } catch {
      throw new Error(`bad percent-encoding in "${seg}"`);
    }
    return { kind: 'literal', value };
  });
  return { method, segments, source: `${method} ${path}` };
}

/** Two templates that match exactly the same requests (a duplicate route). */
export function shapeOf(t: Template): string {
  return `${t.method} /${t.segments.map((s) => (s.kind === 'literal' ? `=${encodeURIComponent(s.value)}` : s.kind === 'rest' ? '**' : '*')).join('/')}`;
}

const RANK = { literal: 4, var: 3, star: 3, end: 2, rest: 1 } as const;

/** Sort order: the more specific template first (literal > variable > end of path > "**"; then a named method). */
export function compareSpecificity(a: Template, b: Template): number {
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const ra = RANK[a.segments[i]?.kind ?? 'end'];
    const rb = RANK[b.segments[i]?.kind ?? 'end'];
    if (ra !== rb) return rb - ra;
  }
  return (a.method === '*' ? 1 : 0) - (b.method === '*' ? 1 : 0);
}

/** The decoded segments of a request path; 400 for paths a proxy and an upstream could read differently. */
export function splitPath(path: string): string[] {
  if (!path.startsWith('/')) throw new DomainError('BAD_REQUEST', 'Request path must start with "/"');
  if (path === '/') return [];
  return path
    .slice(1)
    .split('/')
    .map((raw) => {
      let seg: string;
      try {
        seg = decodeURIComponent(raw);
      } catch {
        throw new DomainError('BAD_REQUEST', 'Malformed URL encoding');
      }
      if (seg === '.' || seg === '..') throw new DomainError('BAD_REQUEST', 'Dot segments are not allowed in the path');
      if (seg.includes('/') || seg.includes('\\') || seg.includes('\0')) throw new DomainError('BAD_REQUEST', 'Encoded slashes and NUL are not allowed in the path');
      return seg;
    });
}

/** The template's variables when it matches, else undefined. */
export function matchTemplate(t: Template, method: string, segs: string[]): Record<string, string> | undefined {
  if (t.method !== '*' && t.method !== method) return undefined;
  const vars: Record<string, string> = {};
  for (let i = 0; i < t.segments.length; i++) {
    const s = t.segments[i];
    if (s.kind === 'rest') return vars;
    const seg = segs[i];
    if (seg === undefined) return undefined;
    if (s.kind === 'literal') {
      if (seg !== s.value) return undefined;
    } else {
      if (seg === '') return undefined;
      if (s.kind === 'var') vars[s.name] = seg;
    }
  }
  return segs.length === t.segments.length ? vars : undefined;
}
