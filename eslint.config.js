// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const pureRestriction = {
  patterns: [
    {
      group: ['node:*'],
      message:
        'src/plan, src/machines and src/core are pure: no node:* imports (do I/O in src/runtime or src/store).',
    },
    {
      group: ['better-sqlite3', 'execa', 'simple-git', 'fs', 'path', 'child_process', 'os'],
      message: 'src/plan, src/machines and src/core are pure: no I/O libraries here.',
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
        projectService: { allowDefaultProject: ['eslint.config.js', 'bin/*.js'] },
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
  {
    files: ['src/plan/**/*.ts', 'src/machines/**/*.ts', 'src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', pureRestriction],
      'no-restricted-globals': ['error', { name: 'process', message: 'pure folders have no process access' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'Date',
          property: 'now',
          message: 'pure folders take time as event data, not from the clock',
        },
        { object: 'Math', property: 'random', message: 'pure folders have no randomness' },
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
  { files: ['bin/*.js', 'eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
