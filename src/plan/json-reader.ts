import { PlanParseError } from './errors.js';
import type { TreeEntry, TreeNode } from './structured-tree.js';

const LITERAL = /true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * A strict JSON reader that keeps offsets (JSON.parse does not), so format C can name
 * lines and write-back can edit in place. Every scalar stays source text.
 *
 * @example
 * new JsonReader('plan.json', '{"a": 1}', 0, () => 1).document().kind; // 'map'
 */
export class JsonReader {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly file: string,
    private readonly s: string,
    private readonly offset: number,
    private readonly lineOf: (o: number) => number,
  ) {}

  document(): TreeNode {
    const v = this.value();
    this.ws();
    if (this.i < this.s.length) this.fail('unexpected text after the end of the JSON value');
    return v;
  }

  private fail(what: string): never {
    const line = this.lineOf(this.i + this.offset);
    throw new PlanParseError(this.file, line, `${this.file} is not valid JSON: ${what} (line ${line})`, {
      hint: 'fix the JSON syntax at that line',
    });
  }

  private ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i] ?? '')) this.i++;
  }

  private value(): TreeNode {
    this.ws();
    const c = this.s[this.i];
    const start = this.i + this.offset;
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') {
      const value = this.string();
      return { kind: 'scalar', start, end: this.i + this.offset, value, quote: '"' };
    }
    LITERAL.lastIndex = this.i;
    const lit = LITERAL.exec(this.s);
    if (!lit) this.fail(c === undefined ? 'it ends too early' : `unexpected character ${JSON.stringify(c)}`);
    this.i += lit[0].length;
    const end = this.i + this.offset;
    return lit[0] === 'null'
      ? { kind: 'null', start, end }
      : { kind: 'scalar', start, end, value: lit[0], quote: '' };
  }

  private nest(): void {
    if (++this.depth > 200) this.fail('it is nested too deeply to be a plan');
  }

  private object(): TreeNode {
    const start = this.i + this.offset;
    this.nest();
    this.i++;
    const entries: TreeEntry[] = [];
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      this.depth--;
      return { kind: 'map', start, end: this.i + this.offset, flow: true, entries };
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a "key" in double quotes');
      const keyStart = this.i + this.offset;
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail('expected ":" after a key');
      this.i++;
      if (entries.some((e) => e.key === key)) this.fail(`the key "${key}" appears twice in one object`);
      entries.push({ key, keyStart, value: this.value() });
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') break;
      if (c !== ',') this.fail('expected "," or "}" in an object');
    }
    this.depth--;
    return { kind: 'map', start, end: this.i + this.offset, flow: true, entries };
  }

  private array(): TreeNode {
    const start = this.i + this.offset;
    this.nest();
    this.i++;
    const items: TreeNode[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      this.depth--;
      return { kind: 'seq', start, end: this.i + this.offset, items };
    }
    for (;;) {
      items.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') break;
      if (c !== ',') this.fail('expected "," or "]" in an array');
    }
    this.depth--;
    return { kind: 'seq', start, end: this.i + this.offset, items };
  }

  private string(): string {
    const from = this.i;
    let j = this.i + 1;
    for (;;) {
      const code = this.s.charCodeAt(j);
      if (Number.isNaN(code) || code < 0x20) {
        this.i = j;
        this.fail('a string is not closed');
      }
      if (code === 0x22) break;
      j += code === 0x5c ? 2 : 1;
    }
    this.i = j + 1;
    try {
      return JSON.parse(this.s.slice(from, this.i)) as string;
    } catch {
      this.i = from;
      return this.fail('a string has a bad escape');
    }
  }
}
