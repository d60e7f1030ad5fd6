// The schema of the runnable-suite file format (`"format": "entrannas-bench/runnable-suite@1"`, harness/run/plan.ts):
// the same ajv options, identifier and seed rules and config schemas as suites/*.json (harness/suites/schema.ts),
// so a file of either format is checked before anything runs. Suite files are shared as data: an identifier or a
// seed ends up in a path, so neither may carry anything but the characters below.
import { MAX_SEED, evalConfigSchema, searchConfigSchema, seedSchema } from '../suites/schema.js';

export { MAX_SEED };

type Schema = Record<string, unknown>;

/** Suite names and row ids: directory names under <results>/runs/. */
export const ID_PATTERN = '^[a-z0-9][a-z0-9-]*$';
export const seedsSchema: Schema = { type: 'array', minItems: 1, uniqueItems: true, items: seedSchema };

const seconds: Schema = { type: 'number', minimum: 0 };
const closed = (properties: Record<string, Schema>, required: string[]): Schema => ({ type: 'object', additionalProperties: false, required, properties });

const fixtureConfig = closed(
  {
    steps: { type: 'integer', minimum: 0 },
    msPerStep: { type: 'number', minimum: 0 },
    failAtStep: { type: 'integer', minimum: 0 },
    nanAtStep: { type: 'integer', minimum: 0 },
    hang: { type: 'boolean' },
    checkpointEvery: { type: 'integer', minimum: 1 },
    valAcc: { anyOf: [{ type: 'number', minimum: 0, maximum: 1 }, { type: 'array', items: { type: 'number', minimum: 0, maximum: 1 } }] },
    seed: { type: 'integer', minimum: 0 },
  },
  ['steps', 'msPerStep'],
);

/** One phase's work, by kind: a search or eval config as suites resolve them, or the fixture test double. */
const workSchema: Schema = {
  type: 'object',
  required: ['kind', 'config'],
  properties: { kind: { enum: ['search', 'eval', 'fixture'] } },
  allOf: [
    { if: { properties: { kind: { const: 'search' } } }, then: closed({ kind: {}, config: searchConfigSchema }, ['kind', 'config']) },
    { if: { properties: { kind: { const: 'eval' } } }, then: closed({ kind: {}, config: evalConfigSchema, genotype: { type: 'string', minLength: 1 } }, ['kind', 'config', 'genotype']) },
    { if: { properties: { kind: { const: 'fixture' } } }, then: closed({ kind: {}, config: fixtureConfig }, ['kind', 'config']) },
  ],
};

export const runnableSuiteSchema: Schema = closed(
  {
    format: { const: 'entrannas-bench/runnable-suite@1' },
    name: { type: 'string', pattern: ID_PATTERN },
    seeds: seedsSchema,
    timeoutSeconds: seconds,
    deviations: { type: 'array', items: { type: 'string' } },
    methods: {
      type: 'array',
      minItems: 1,
      items: closed(
        {
          id: { type: 'string', pattern: ID_PATTERN },
          deviations: { type: 'array', items: { type: 'string' } },
          search: workSchema,
          eval: workSchema,
          // A selection protocol (harness/run/plan.ts RunnableProtocol): k searches, a select each, m evals.
          protocol: closed({ searches: { type: 'integer', minimum: 1 }, select: workSchema, evalSeeds: { type: 'integer', minimum: 1 } }, ['searches', 'select', 'evalSeeds']),
          timeoutSeconds: closed({ search: seconds, select: seconds, eval: seconds }, []),
        },
        ['id'],
      ),
    },
  },
  ['format', 'name', 'seeds', 'timeoutSeconds', 'deviations', 'methods'],
);
