// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import roomsPlugin from './eslint-rules/rooms.js';

/** Folders that are pure: no I/O, no clock, no randomness. */
export const PURE_FOLDERS = [
  'src/plan/**/*.ts',
  'src/machines/**/*.ts',
  'src/core/**/*.ts',
  'src/runtime/render/**/*.ts',
  'src/runtime/report/**/*.ts',
];

/** The rule between rooms (eslint-rules/rooms.js), for every file under src/. */
export const roomsConfig = {
  files: ['src/**/*.ts'],
  plugins: { orch: roomsPlugin },
  rules: { 'orch/rooms': 'error' },
};

const pureRestriction = {
  patterns: [
    {
      group: ['node:*'],
      message:
        'pure folders (src/plan, src/machines, src/core, src/runtime/render, src/runtime/report) have no node:* imports: do I/O in an effect room of src/runtime or in src/store.',
    },
    {
      group: [
        'better-sqlite3',
        'pg',
        'execa',
        'simple-git',
        'fs',
        'path',
        'child_process',
        'os',
        'crypto',
        'url',
        'timers',
        'worker_threads',
        'net',
        'http',
        'https',
      ],
      message: 'pure folders have no I/O, clock or randomness libraries.',
    },
  ],
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'oclif.manifest.json',
      '**/*.cjs',
      'test/fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['eslint.config.js', 'bin/*.js', 'eslint-rules/*.js', 'scripts/*.mjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'separate-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
    },
  },
  roomsConfig,
  {
    files: PURE_FOLDERS,
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'pure folders take time as event data, not from the clock (new Date() reads it)',
        },
      ],
      '@typescript-eslint/no-restricted-imports': ['error', pureRestriction],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'pure folders have no process access' },
        { name: 'performance', message: 'pure folders do not read the clock' },
        { name: 'setTimeout', message: 'pure folders have no timers' },
        { name: 'setInterval', message: 'pure folders have no timers' },
        { name: 'setImmediate', message: 'pure folders have no timers' },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Date',
          property: 'now',
          message: 'pure folders take time as event data, not from the clock',
        },
        { object: 'Math', property: 'random', message: 'pure folders have no randomness' },
        { object: 'performance', property: 'now', message: 'pure folders do not read the clock' },
        { object: 'crypto', property: 'randomUUID', message: 'pure folders have no randomness' },
        { object: 'crypto', property: 'getRandomValues', message: 'pure folders have no randomness' },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  { files: ['bin/*.js', 'eslint.config.js', 'eslint-rules/*.js'], ...tseslint.configs.disableTypeChecked },
);
