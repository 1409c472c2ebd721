import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { openSqliteEventStore } from '../../src/store/index.js';
import { defineStoreContract } from './contract.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-store-contract-'));
let count = 0;
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

defineStoreContract('sqlite store', (options) =>
  openSqliteEventStore(path.join(dir, `log-${++count}`, 'orch.db'), options),
);
