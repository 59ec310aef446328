// Fair admission: slots are bounded in total and per connection, and a freed slot goes to the next
// waiting connection in turn, so one connection's backlog never delays another's first request.
import { expect, it } from 'vitest';
import { Admission } from '../../src/transport/admission.js';

it('bounds requests in total and per connection, and hands freed slots round-robin', () => {
  const admission = new Admission(3, 2);
  const flood = {};
  const other = {};
  const started: string[] = [];
  const releases = new Map<string, () => void>();
  const admit = (conn: object, name: string) =>
    releases.set(
      name,
      admission.admit(conn, () => started.push(name)),
    );

  for (let i = 1; i <= 5; i++) admit(flood, `f${i}`);
  expect(started).toEqual(['f1', 'f2']); // two per connection
  admit(other, 'o1');
  admit(other, 'o2');
  expect(started).toEqual(['f1', 'f2', 'o1']); // three in total
  expect(admission.load).toEqual({ active: 3, waiting: 4 });

  releases.get('f1')!(); // the other connection waited for a slot: it goes before the flood's backlog
  expect(started.at(-1)).toBe('o2');
  releases.get('f2')!();
  expect(started.at(-1)).toBe('f3');
  releases.get('o1')!();
  expect(started.at(-1)).toBe('f4');
  releases.get('f4')!();
  releases.get('f4')!(); // a second call is harmless
  expect(started).toEqual(['f1', 'f2', 'o1', 'o2', 'f3', 'f4', 'f5']);
});

it('a request that leaves while waiting gives up its place', () => {
  const admission = new Admission(1, 1);
  const started: string[] = [];
  const a = admission.admit({}, () => started.push('a'));
  const b = admission.admit({}, () => started.push('b'));
  admission.admit({}, () => started.push('c'));
  b(); // its client went away before its turn
  a();
  expect(started).toEqual(['a', 'c']);
  expect(admission.load).toEqual({ active: 1, waiting: 0 });
});
