// `npm run bench -- <name>` runs bench/<name>.ts (list them with `ls bench`).
const name = process.argv[2];
if (!name) {
  console.error('usage: npm run bench -- <scenario>   e.g. getme-cookie');
  process.exit(2);
}
await import(`./${name}.ts`);
