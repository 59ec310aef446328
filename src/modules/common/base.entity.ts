// Columns every entity has: a ULID primary key and creation/update times.
import { p } from '@mikro-orm/core';
import { ulid } from './ids.js';

export const baseProperties = {
  id: p
    .string()
    .primary()
    .length(26)
    .onCreate(() => ulid()),
  createdAt: p.datetime().onCreate(() => new Date()),
  updatedAt: p
    .datetime()
    .onCreate(() => new Date())
    .onUpdate(() => new Date()),
};
