import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/runtime/project/config.js';
import { DEFAULT_CONFIG, agentFor } from '../../../src/core/config.js';
import { OrchError } from '../../../src/util/errors.js';

const dirs: string[] = [];
function repo(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('gives the built-in defaults when there is no config file', () => {
    const config = loadConfig(repo());
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(config.maxRetries).toBe(100);
    expect(config.agents['default']?.command[0]).toBe('claude');
  });

  it('reads JSON and lets flags override the file', () => {
    const dir = repo({ 'orch.config.json': JSON.stringify({ maxConcurrent: 2, retryInterval: 5 }) });
    const config = loadConfig(dir, { maxConcurrent: 7 });
    expect(config.maxConcurrent).toBe(7);
    expect(config.retryInterval).toBe(5);
  });

  it('reads YAML', () => {
    const dir = repo({
      'orch.config.yaml': 'baseBranch: trunk\nagents:\n  tester:\n    command: [./t.sh, "{promptFile}"]\n',
    });
    const config = loadConfig(dir);
    expect(config.baseBranch).toBe('trunk');
    expect(agentFor(config, 'tester')?.command).toEqual(['./t.sh', '{promptFile}']);
    expect(agentFor(config, 'other')).toBeUndefined();
  });

  it('names an unknown key and the file', () => {
    const dir = repo({ 'orch.config.json': JSON.stringify({ maxConcurent: 2 }) });
    try {
      loadConfig(dir);
      expect.fail('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(OrchError);
      expect((err as OrchError).code).toBe('CONFIG_INVALID');
      expect((err as Error).message).toContain('maxConcurent');
      expect((err as Error).message).toContain('orch.config.json');
    }
  });

  it('names a key with the wrong type', () => {
    const dir = repo({
      'orch.config.json': JSON.stringify({ agents: { default: { command: 'claude -p' } } }),
    });
    expect(() => loadConfig(dir)).toThrow(/agents\.default\.command/);
  });

  it('reports a syntax error with the file name', () => {
    const dir = repo({ 'orch.config.json': '{ "maxRetries": ' });
    expect(() => loadConfig(dir)).toThrow(/cannot read .*orch\.config\.json/);
  });
});

describe('targets', () => {
  const write = (dir: string, rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };

  it('reads targets from the config and from config/targets.yaml (a targets: map or the map itself)', () => {
    const dir = repo({ 'orch.config.json': JSON.stringify({ targets: { web: { path: '../web' } } }) });
    write(
      dir,
      'config/targets.yaml',
      'targets:\n  api:\n    path: ../api\n    roadmap: docs/roadmap.md\n    conventions: CONVENTIONS.md\n',
    );
    const config = loadConfig(dir);
    expect(config.targets).toEqual({
      web: { path: '../web' },
      api: { path: '../api', roadmap: 'docs/roadmap.md', conventions: 'CONVENTIONS.md' },
    });
    const bare = repo();
    write(
      bare,
      'config/targets.yaml',
      'api:\n  path: ../api\n  agents:\n    dev: { command: [aider, "{prompt}"] }\n',
    );
    expect(loadConfig(bare).targets?.['api']?.agents?.['dev']?.command).toEqual(['aider', '{prompt}']);
  });

  it('refuses a target defined twice, a bad id, both planDir and roadmap, and a broken targets file', () => {
    const twice = repo({ 'orch.config.json': JSON.stringify({ targets: { api: { path: '../a' } } }) });
    write(twice, 'config/targets.yaml', 'api: { path: ../b }\n');
    expect(() => loadConfig(twice)).toThrow(
      /target api is defined both in .*orch\.config\.json and in .*targets\.yaml/,
    );
    for (const [targets, pattern] of [
      [{ '../x': { path: '../x' } }, /targets\.\.\.\/x|target id/],
      [{ api: { path: '../a', planDir: 'p', roadmap: 'r.md' } }, /planDir or roadmap, not both/],
      [{ api: { path: '../a', colour: 'red' } }, /colour/],
    ] as const) {
      const dir = repo({ 'orch.config.json': JSON.stringify({ targets }) });
      expect(() => loadConfig(dir)).toThrow(pattern);
    }
    const broken = repo();
    write(broken, 'config/targets.yaml', 'api: [unclosed\n');
    expect(() => loadConfig(broken)).toThrow(OrchError);
    expect(() => loadConfig(broken)).toThrow(/cannot read .*targets\.yaml/);
    const list = repo();
    write(list, 'config/targets.yaml', '- api\n');
    expect(() => loadConfig(list)).toThrow(/must be a map of targets/);
  });

  it('defaultTarget names a configured target, and is set in one place', () => {
    const write = (dir: string, rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    };
    const ok = repo({
      'orch.config.json': JSON.stringify({ defaultTarget: 'api', targets: { api: { path: '../a' } } }),
    });
    expect(loadConfig(ok).defaultTarget).toBe('api');
    const unknown = repo({
      'orch.config.json': JSON.stringify({ defaultTarget: 'web', targets: { api: { path: '../a' } } }),
    });
    expect(() => loadConfig(unknown)).toThrow(/orch\.config\.json: defaultTarget: there is no target "web"/);
    const twice = repo({ 'orch.config.json': JSON.stringify({ defaultTarget: 'api' }) });
    write(twice, 'config/targets.yaml', 'default_target: api\ntargets:\n  api: { path: ../a }\n');
    expect(() => loadConfig(twice)).toThrow(
      /default target is set both in .*orch\.config\.json \(defaultTarget\) and in .*targets\.yaml/,
    );
    // orch's own shape of config/targets.yaml is read as before, without notes.
    const own = repo();
    write(own, 'config/targets.yaml', 'targets:\n  api:\n    path: ../api\n    baseBranch: trunk\n');
    const notes: string[] = [];
    expect(loadConfig(own, {}, { onNote: (n) => notes.push(n) }).targets).toEqual({
      api: { path: '../api', baseBranch: 'trunk' },
    });
    expect(notes).toEqual([]);
  });
});
