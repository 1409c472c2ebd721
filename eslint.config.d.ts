// Types of eslint.config.js for the test of the rule between rooms (test/lint/rooms.unit.test.ts).
import type { Linter } from 'eslint';

declare const config: Linter.Config[];
export default config;
/** Folders that are pure: no I/O, no clock, no randomness. */
export declare const PURE_FOLDERS: string[];
/** The rule between rooms, for every file under src/. */
export declare const roomsConfig: Linter.Config & { files: string[] };
