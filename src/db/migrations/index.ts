// Migrations in order; listed explicitly so tsx and tsc builds find them without globbing.
import { Migration20261122000001 } from './Migration20261122000001.js';
import { Migration20261122000002 } from './Migration20261122000002.js';
import { Migration20261122000003 } from './Migration20261122000003.js';
import { Migration20261122000004 } from './Migration20261122000004.js';
import { Migration20261201000010 } from './Migration20261201000010.js';
import { Migration20261201000100 } from './Migration20261201000100.js';
import { Migration20261201000200 } from './Migration20261201000200.js';
import { Migration20261201000300 } from './Migration20261201000300.js';
import { Migration20261201000400 } from './Migration20261201000400.js';
import { Migration20261201000500 } from './Migration20261201000500.js';
import { Migration20261201000700 } from './Migration20261201000700.js';
import { Migration20261201000800 } from './Migration20261201000800.js';

export const migrationsList = [
  { name: 'Migration20261122000001', class: Migration20261122000001 },
  { name: 'Migration20261122000002', class: Migration20261122000002 },
  { name: 'Migration20261122000003', class: Migration20261122000003 },
  { name: 'Migration20261122000004', class: Migration20261122000004 },
  { name: 'Migration20261201000010', class: Migration20261201000010 },
  { name: 'Migration20261201000100', class: Migration20261201000100 },
  { name: 'Migration20261201000200', class: Migration20261201000200 },
  { name: 'Migration20261201000300', class: Migration20261201000300 },
  { name: 'Migration20261201000400', class: Migration20261201000400 },
  { name: 'Migration20261201000500', class: Migration20261201000500 },
  { name: 'Migration20261201000700', class: Migration20261201000700 },
  { name: 'Migration20261201000800', class: Migration20261201000800 },
];
