import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PlanParseError } from '../../src/plan/errors.js';
import { PlanSchema } from '../../src/plan/model.js';
import { parsePlanFiles } from '../../src/plan/parse-plan.js';
import { readFixtureDir } from './helpers.js';

/**
 * What every parser produces is a plan by the model's own zod schema (the schema the
 * `PlanLoaded` and `PlanRevised` events are checked against), for every format's fixtures.
 */

const fixtures = fileURLToPath(new URL('../fixtures/plans/', import.meta.url));

describe('parsed plans conform to PlanSchema', () => {
  for (const dir of ['directory', 'invalid-directory', 'roadmap-large', 'invalid-roadmap', 'yaml', 'json']) {
    it(`${dir}`, () => {
      const { plan } = parsePlanFiles({ files: readFixtureDir(dir), source: dir });
      const result = PlanSchema.safeParse(plan);
      expect(result.success ? [] : result.error.issues.slice(0, 5)).toEqual([]);
      expect(plan.tasks.length).toBeGreaterThan(0);
    });
  }

  it('the binary fixture is a parse error, not a plan', () => {
    const bytes = fs.readFileSync(path.join(fixtures, 'malformed', 'binary.yaml'));
    expect(() => parsePlanFiles({ files: { 'plan.yaml': bytes.toString('utf8') }, source: 'm' })).toThrow(
      PlanParseError,
    );
  });
});
