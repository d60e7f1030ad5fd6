// JSON-Schema plumbing shared by the suite loader and the run-record reader (harness/results/store.ts): one ajv
// with strict options, ajv errors as one readable line each (with a did-you-mean for misspelt keys), and
// JSON.parse errors that name the file, line and column.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

const ajv = new Ajv({ allErrors: true, strict: true, verbose: true });

/** Compile a schema with the options every schema here uses (suites, configs, run records). */
export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  return ajv.compile(schema);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function didYouMean(key: string, known: string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(k, key);
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 4)) ? ` (did you mean "${best}"?)` : '';
}

/**
 * ajv errors as one line each: "<json pointer> <problem>". Branch errors under a failed oneOf/anyOf are
 * folded into one line that uses the schema's description.
 */
export function formatAjvErrors(errors: ErrorObject[] | null | undefined, prefix = ''): string[] {
  const all = errors ?? [];
  const unions = all.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').map((e) => e.schemaPath + '/');
  const lines: string[] = [];
  for (const e of all) {
    if (e.keyword === 'if' || unions.some((u) => e.schemaPath.startsWith(u))) continue;
    const at = prefix + e.instancePath;
    const ptr = at === '' ? '/' : at;
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = String(params.additionalProperty);
        const known = Object.keys(((e.parentSchema as { properties?: object } | undefined)?.properties) ?? {});
        lines.push(`${at}/${key} is an unknown key${didYouMean(key, known)}; allowed here: ${known.join(', ')}`);
        break;
      }
      case 'required':
        lines.push(`${at}/${String(params.missingProperty)} is required but missing`);
        break;
      case 'enum':
        lines.push(`${ptr} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (got ${JSON.stringify(e.data)})`);
        break;
      case 'const':
        lines.push(`${ptr} must be ${JSON.stringify(params.allowedValue)} (got ${JSON.stringify(e.data)})`);
        break;
      case 'oneOf':
      case 'anyOf': {
        const desc = (e.parentSchema as { description?: string } | undefined)?.description;
        lines.push(`${ptr} must be ${desc ?? 'one of the allowed forms'} (got ${JSON.stringify(e.data)})`);
        break;
      }
      case 'type':
        lines.push(`${ptr} ${e.message} (got ${JSON.stringify(e.data)})`);
        break;
      default:
        lines.push(`${ptr} ${e.message ?? 'is invalid'}${e.data !== undefined && typeof e.data !== 'object' ? ` (got ${JSON.stringify(e.data)})` : ''}`);
    }
  }
  return lines;
}

/** JSON.parse with the file, line and column in the error. */
export function parseJsonFile(textIn: string, file: string): unknown {
  try {
    return JSON.parse(textIn);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const m = /position (\d+)/.exec(msg);
    const pos = m ? Number(m[1]) : textIn.length;
    const before = textIn.slice(0, pos).split('\n');
    throw new Error(`${file}: invalid JSON at line ${before.length}, column ${before[before.length - 1].length + 1} (position ${pos}): ${msg}`);
  }
}
