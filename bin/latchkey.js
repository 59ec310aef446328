#!/usr/bin/env node
// `latchkey` operator CLI: runs the TypeScript sources through tsx (same code as the server).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
