// Event ids: ULIDs from the injected clock, strictly increasing within a process, so "newest first"
// is "id descending" even for events recorded in the same millisecond.
import { ulid } from '../common/ids.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function increment(id: string): string {
  const chars = id.split('');
  for (let i = chars.length - 1; i >= 0; i--) {
    const v = ALPHABET.indexOf(chars[i]);
    if (v < 31) {
      chars[i] = ALPHABET[v + 1];
      return chars.join('');
    }
    chars[i] = ALPHABET[0];
  }
  throw new Error('event id overflow');
}

export class EventIds {
  private last = '';

  next(now: Date): string {
    const candidate = ulid(now.getTime());
    this.last = candidate > this.last ? candidate : increment(this.last);
    return this.last;
  }
}
