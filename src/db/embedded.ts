// Embedded PostgreSQL: PGlite with its data in DATA_DIR, served on a loopback socket so the
// ordinary postgres driver (and so the same MikroORM code path) talks to it. PGlite has no
// postmaster.pid of its own: a lock file keeps a second process off the same directory.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { lockDataDir } from './data-dir-lock.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const dir = path.join(dataDir, 'pglite');
  await mkdir(dir, { recursive: true });
  const lock = lockDataDir(dataDir);
  const release = () => lock.release();
  process.once('exit', release);
  let db: PGlite;
  let server: PGLiteSocketServer;
  try {
    db = await PGlite.create(dir);
    server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
    await server.start();
  } catch (e) {
    release();
    throw e;
  }
  const conn = server.getServerConn(); // host:port
  return {
    url: `postgres://postgres@${conn}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
      process.off('exit', release);
      release();
    },
  };
}
