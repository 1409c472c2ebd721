#!/usr/bin/env node
// orch-sim, the built-in simulated agent: real git work in its workspace, reported with `orch signal`
// (see src/runtime/demo/sim-agent.ts for the ORCH_SIM_* switches).
import process from 'node:process';
import { main } from '../dist/runtime/demo/sim-agent.js';

process.exitCode = await main();
