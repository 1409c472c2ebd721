import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Persona } from '../../plan/model.js';
import { OrchError } from '../../util/errors.js';

/**
 * Claude Code agent files (`.claude/agents/NAME.md`) as personas: YAML front matter (`name`,
 * `description`, `tools`, `model`) between `---` lines, then the instructions. The body is
 * the persona's text in the prompt; `model` and `tools` become Claude Code's `--model` and
 * `--allowedTools` when the role runs Claude Code.
 */

/** A persona read from an agent file, with what it asks of Claude Code. */
export interface AgentFilePersona {
  persona: Persona;
  /** `model` of the front matter, or undefined. */
  model?: string;
  /** `tools` of the front matter (a list or a comma-separated string), or undefined. */
  tools?: string[];
  /** The file (absolute). */
  file: string;
}

/** Where agent files are found automatically, relative to the main repository. */
export const AGENT_FILES_DIR = path.join('.claude', 'agents');

/**
 * Reads an agent file for `role`. `pointer` names the key that points to it (for example
 * `agents.coder.persona in orch.config.json`), so a missing or malformed file is one error
 * naming the file and that key.
 *
 * @example
 * readAgentFile('/repo/.claude/agents/coder.md', 'coder', 'agents.coder.persona in orch.config.json').persona.template;
 */
export function readAgentFile(file: string, role: string, pointer: string): AgentFilePersona {
  const refuse = (what: string, hint: string): never => {
    throw new OrchError('CONFIG_INVALID', `agent file ${file} (${pointer}): ${what}`, {
      hint,
      details: { file, key: pointer },
    });
  };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    return refuse(
      `cannot be read: ${(cause as Error).message}`,
      `create the file, or fix ${pointer} (paths are relative to the main repository)`,
    );
  }
  text = text.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  let front: Record<string, unknown> = {};
  let body = text;
  let bodyLine = 1;
  if (text.startsWith('---\n')) {
    const end = text.indexOf('\n---', 4);
    if (end < 0) {
      return refuse(
        'its front matter has no closing `---` line',
        'close the front matter with a line `---` before the instructions',
      );
    }
    const yamlText = text.slice(4, end + 1);
    let parsed: unknown;
    try {
      parsed = parseYaml(yamlText);
    } catch (cause) {
      return refuse(
        `its front matter is not valid YAML: ${(cause as Error).message}`,
        'write the front matter as `name: …`, `description: …`, `tools: Read, Edit`, `model: …`',
      );
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        return refuse('its front matter is not a map', 'write `key: value` lines between the `---` lines');
      }
      front = parsed as Record<string, unknown>;
    }
    const afterClose = text.indexOf('\n', end + 1);
    body = afterClose < 0 ? '' : text.slice(afterClose + 1);
    bodyLine = text.slice(0, afterClose < 0 ? text.length : afterClose + 1).split('\n').length;
  }
  const template = body.trim();
  if (template === '') {
    return refuse(
      'it has no instructions after the front matter',
      'write the persona text after the `---` line',
    );
  }
  const str = (key: string): string | undefined => {
    const v = front[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' && typeof v !== 'number') {
      return refuse(`front matter \`${key}\` is not text`, `write \`${key}: <text>\``);
    }
    return String(v).trim() || undefined;
  };
  const name = str('name');
  const model = str('model');
  const rawTools = front['tools'];
  let tools: string[] | undefined;
  if (Array.isArray(rawTools)) tools = rawTools.map((t) => String(t).trim()).filter((t) => t !== '');
  else if (typeof rawTools === 'string') {
    tools = rawTools
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
  } else if (rawTools !== undefined && rawTools !== null) {
    return refuse('front matter `tools` is neither a list nor text', 'write `tools: Read, Edit, Bash`');
  }
  const description = str('description');
  return {
    persona: {
      role,
      title: name ?? role,
      capabilities: description === undefined ? [] : [description],
      constraints: [],
      template,
      source: { file, line: bodyLine },
    },
    ...(model === undefined || model === 'inherit' ? {} : { model }),
    ...(tools === undefined || tools.length === 0 ? {} : { tools }),
    file,
  };
}

/**
 * Claude Code's `--model` and `--allowedTools` from an agent file, added to a Claude Code
 * command that does not already give them (after argv[0]); other commands are unchanged.
 *
 * @example
 * withAgentFileFlags(['claude', '-p', '{prompt}'], { model: 'sonnet', tools: ['Read', 'Edit'] }, true);
 * // ['claude', '--model', 'sonnet', '--allowedTools', 'Read,Edit', '-p', '{prompt}']
 */
export function withAgentFileFlags(
  argv: readonly string[],
  from: { model?: string; tools?: string[] },
  isClaude: boolean,
): string[] {
  if (!isClaude || argv.length === 0) return [...argv];
  const has = (flag: string) => argv.some((a) => a === flag || a.startsWith(`${flag}=`));
  const extra: string[] = [];
  if (from.model !== undefined && !has('--model')) extra.push('--model', from.model);
  const toolsGiven = has('--allowedTools') || has('--allowed-tools');
  if (from.tools !== undefined && from.tools.length > 0 && !toolsGiven) {
    extra.push('--allowedTools', from.tools.join(','));
  }
  return [argv[0]!, ...extra, ...argv.slice(1)];
}

/**
 * The key a target's agent file is named by in messages: `targets.<id>.personas.<role>`, with
 * the key of config/targets.yaml for roles `coder` and `pm`.
 *
 * @example
 * targetPersonaKey('self', 'coder'); // 'targets.self.personas.coder (coder_agent in config/targets.yaml or its defaults)'
 */
export function targetPersonaKey(id: string, role: string): string {
  const foreign = role === 'coder' ? 'coder_agent' : role === 'pm' ? 'pm_agent' : undefined;
  return foreign === undefined
    ? `targets.${id}.personas.${role}`
    : `targets.${id}.personas.${role} (${foreign} in config/targets.yaml or its defaults)`;
}

/**
 * Reads every agent file the configuration names (`agents.<role>.persona`, each target's
 * personas), so a missing or malformed one is refused before anything runs, naming the file
 * and the key that points to it.
 *
 * @example
 * checkAgentFiles('/work/app', config); // throws CONFIG_INVALID for a missing .claude/agents/x.md
 */
export function checkAgentFiles(
  repoDir: string,
  config: {
    agents: Record<string, { persona?: string | undefined }>;
    targets?: Record<string, { personas?: Record<string, string> | undefined }> | undefined;
  },
): void {
  for (const [role, agent] of Object.entries(config.agents)) {
    if (agent.persona !== undefined)
      readAgentFile(path.resolve(repoDir, agent.persona), role, `agents.${role}.persona`);
  }
  for (const [id, target] of Object.entries(config.targets ?? {})) {
    for (const [role, file] of Object.entries(target.personas ?? {})) {
      readAgentFile(path.resolve(repoDir, file), role, targetPersonaKey(id, role));
    }
  }
}
