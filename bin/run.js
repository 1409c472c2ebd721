#!/usr/bin/env node
// The orch binary: oclif reads the shipped manifest, so only the command that runs is loaded.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
