// Opaque AIP-158 page tokens: a base64url cursor; never grants access (every query re-checks the caller).
import { invalid } from './errors.js';

export interface Page {
  size: number;
  cursor?: { after: string };
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;

export function readPage(pageSize: number, pageToken: string): Page {
  if (pageSize < 0) throw invalid('page_size', 'must not be negative');
  const size = Math.min(pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  if (!pageToken) return { size };
  try {
    const cursor = JSON.parse(Buffer.from(pageToken, 'base64url').toString('utf8'));
    if (typeof cursor?.after !== 'string') throw new Error('bad cursor');
    return { size, cursor };
  } catch {
    throw invalid('page_token', 'is not a token returned by this API');
  }
}

const pageToken = (after: string): string => Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');

/** Given size+1 rows ordered by a unique key, the page and the token of the next one. */
export function cut<T>(rows: T[], page: Page, key: (row: T) => string): { items: T[]; next: string } {
  if (rows.length <= page.size) return { items: rows, next: '' };
  const items = rows.slice(0, page.size);
  return { items, next: pageToken(key(items[items.length - 1])) };
}
