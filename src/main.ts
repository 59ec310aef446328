// The server's entry. The dependencies need Node.js 22.19 or newer (undici 8, oidc-provider), so an
// older runtime gets a sentence, not a TypeError from inside a dependency: checked before they load.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(
    `latchkey: the server needs Node.js 22.19 or newer; this is ${process.versions.node}. ` + '`npm start` runs the Node 24 that `npm ci` installs into node_modules (or use the Dockerfile).',
  );
  process.exit(1);
}
await import('./start.js');
