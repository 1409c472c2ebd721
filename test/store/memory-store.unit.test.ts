import { createMemoryEventStore } from '../../src/store/index.js';
import { defineStoreContract } from './contract.js';

defineStoreContract('memory store', (options) => createMemoryEventStore(options));
