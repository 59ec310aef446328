// The session cookie: HttpOnly, SameSite=Lax, Secure unless served over plain http on loopback.
// Parsing goes through the `cookie` package; a value that is not valid percent-encoding or not
// a plain token is treated as no cookie at all (then 401, never 500).
import { parseCookie } from 'cookie';

export const SESSION_COOKIE = 'latchkey_session';

// Session tokens are URL-safe ASCII; anything else cannot be one of ours.
const TOKEN_RE = /^[\x21-\x7e]{1,512}$/;

function decode(raw: string): string | undefined {
  try {
    const value = decodeURIComponent(raw);
    return TOKEN_RE.test(value) ? value : undefined;
  } catch {
    return undefined; // a malformed escape ("%", "%ZZ", bad UTF-8): not a credential
  }
}

export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  return parseCookie(header, { decode })[name];
}

export function isLoopbackHttp(publicUrl: string): boolean {
  const u = new URL(publicUrl);
  return u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
}

export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  // Tokens are base64url, so the value needs no encoding; the attribute order is part of the tested contract.
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export const clearedSessionCookie = (secure: boolean) => sessionCookie('', 0, secure);
