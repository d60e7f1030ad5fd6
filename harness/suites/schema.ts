// JSON Schemas (draft-07, checked with ajv) for suites/*.json and for the configs a suite resolves to.
// Every object is closed (additionalProperties: false), so a misspelt key is an error, not a silent default.
// The config schemas mirror SearchConfig / EvalConfig in nas/config.ts; the "full" forms check merged
// configs. test/suite.test.ts and test/methods.test.ts validate every default (every registered method's) and
// every suite's merged config against them, so a field added to config.ts with a default but no schema entry
// fails a test. Optional fields without a default are not caught that way: DataConfig's subsetSeed, resize,
// numClasses, badImages and synthetic have no entry here, so no suite can set them yet. The method names come
// from the registry (methods/registry.ts).
import { DARTS_OPS } from '../../nas/config.js';
import { METHOD_NAMES } from '../../methods/registry.js';
import { METRICS } from './targets.js';

type Schema = Record<string, unknown>;

const int = (minimum = 0): Schema => ({ type: 'integer', minimum });
const positive: Schema = { type: 'number', exclusiveMinimum: 0 };
const nonNegative: Schema = { type: 'number', minimum: 0 };
const fraction: Schema = { type: 'number', exclusiveMinimum: 0, maximum: 1 };
const unitInterval: Schema = { type: 'number', minimum: 0, exclusiveMaximum: 1 };
const text: Schema = { type: 'string', minLength: 1 };
const bool: Schema = { type: 'boolean' };
/** Seeds drive a 32-bit generator: 0 … 2³²−1, so two different seeds never give one run. */
export const MAX_SEED = 2 ** 32 - 1;
export const seedSchema: Schema = { type: 'integer', minimum: 0, maximum: MAX_SEED };

/** A closed object; `optional` names the keys that may be left out of a full config. */
function obj(properties: Record<string, Schema>, optional: string[] = []): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    properties,
  };
}

const dataSchema = obj(
  {
    dataset: text,
    dataDir: text,
    // The stem and two reductions need at least 8×8 (an 8×8 input reaches the last cell as 2×2).
    imageSize: int(8),
    trainLimit: int(1),
    testLimit: int(1),
    trainPortion: fraction,
    subsetWeights: fraction,
    subsetArch: fraction,
  },
  ['dataDir', 'imageSize', 'trainLimit', 'testLimit', 'subsetWeights', 'subsetArch'],
);

const sgdSchema = obj(
  { lr: positive, lrMin: nonNegative, momentum: unitInterval, weightDecay: nonNegative, gradClip: nonNegative, warmupEpochs: int(0) },
  ['warmupEpochs'],
);

const adamSchema = obj({ lr: positive, beta1: unitInterval, beta2: unitInterval, weightDecay: nonNegative, gradClip: nonNegative, gradClipBasis: text });

/** SearchConfig without method and seed (the suite row and the seed list set those). */
function searchProperties(): Record<string, Schema> {
  return {
    space: obj({
      ops: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...DARTS_OPS] } },
      nodes: int(1),
    }),
    data: dataSchema,
    layers: int(3),
    channels: int(1),
    stemMultiplier: int(1),
    stem: { enum: ['cifar', 'imagenet'] },
    batchSize: int(1),
    microBatch: int(0),
    epochs: int(1),
    stepsPerEpoch: int(0),
    evalBatches: int(0),
    weights: sgdSchema,
    arch: adamSchema,
    archWarmupEpochs: int(0),
    temperature: obj({ start: positive, end: positive }),
    entrannas: obj({
      engineCells: {
        description: "a non-empty array of cell indices or the string 'first-of-type'",
        oneOf: [
          { type: 'array', minItems: 1, uniqueItems: true, items: int(0) },
          { const: 'first-of-type' },
        ],
      },
      featureSharing: bool,
    }),
    dst: obj({ betaInit: { type: 'number' }, sparsityPenalty: nonNegative }),
    pcdarts: obj({ k: int(1), edgeNormalization: bool }),
    darts: obj({ hessianEpsilon: positive }),
    randomWs: obj({ candidates: int(1), candidateBatches: int(0), finalists: int(0) }),
    consistency: obj({ heldOut: { type: 'number', minimum: 0, exclusiveMaximum: 1 }, bnBatches: int(1), supernetPaths: int(1) }),
  };
}

function evalProperties(): Record<string, Schema> {
  return {
    data: dataSchema,
    net: { enum: ['cifar', 'imagenet'] },
    layers: int(3),
    channels: int(1),
    auxiliary: bool,
    auxiliaryWeight: nonNegative,
    dropPath: unitInterval,
    batchSize: int(1),
    epochs: int(1),
    stepsPerEpoch: int(0),
    weights: sgdSchema,
    lrSchedule: { enum: ['cosine', 'linear'] },
    labelSmoothing: unitInterval,
    augment: obj({ crop: bool, flip: bool, cutout: int(0), colorJitter: bool }),
  };
}

/** The same schema with every `required` list removed: a deep partial, as suites write overrides. */
export function deepPartial(schema: Schema): Schema {
  if (Array.isArray(schema)) return schema.map((s) => deepPartial(s as Schema)) as unknown as Schema;
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'required') continue;
    out[k] = v !== null && typeof v === 'object' ? deepPartial(v as Schema) : v;
  }
  return out;
}

/** A complete SearchConfig (after merge), method and seed included. */
export const searchConfigSchema: Schema = obj({
  method: { enum: [...METHOD_NAMES] },
  seed: seedSchema,
  ...searchProperties(),
});

/** A complete EvalConfig (after merge), seed included. */
export const evalConfigSchema: Schema = obj({ seed: seedSchema, ...evalProperties() });

const searchOverridesSchema = deepPartial(obj(searchProperties()));
const evalOverridesSchema = deepPartial(obj(evalProperties()));

const deviationSchema = obj(
  {
    text: text,
    fields: {
      description: 'config paths this deviation covers, e.g. "search.layers" or "eval.data"',
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', pattern: '^(search|eval)(\\.[A-Za-z]+)*$' },
    },
  },
  ['fields'],
);

export const targetSchema: Schema = obj(
  {
    metric: { enum: [...METRICS] },
    direction: { enum: ['lower', 'higher'] },
    value: { type: 'number' },
    sd: nonNegative,
    n: int(1),
    aggregate: { enum: ['best-of-k', 'mean-of-k', 'single'] },
    tolerance: nonNegative,
    protocol: text,
    source: obj({ paper: text, version: text, url: text, table: text }, ['url', 'table']),
    tag: { enum: ['R', 'S', 'L', 'I'] },
    hardware: text,
    searches: int(1),
    verdict: bool,
    note: text,
    indicative: text,
  },
  ['sd', 'n', 'searches', 'verdict', 'note', 'indicative'],
);

/** A selection protocol (harness/suites/suite.ts SuiteProtocol): k searches, a select run each, m evaluations. */
const protocolSchema: Schema = obj({
  searches: { ...int(1), description: 'k: searches with seeds 0..k-1, each scored by a select run' },
  select: {
    ...deepPartial(obj({
      ...evalProperties(),
      validation: obj({
        portion: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'fraction of the training set held out to score the select runs' },
        seed: int(0),
      }),
    })),
    description: "overrides of the row's eval config for the select runs (e.g. epochs), and the validation split held out of the training set",
  },
  evalSeeds: { ...int(1), description: 'm: evaluations of the selected cell, eval seeds 0..m-1' },
  source: text,
});

const methodRowSchema = obj(
  {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
    method: { enum: [...METHOD_NAMES] },
    label: text,
    run: bool,
    search: searchOverridesSchema,
    eval: evalOverridesSchema,
    protocol: protocolSchema,
    targets: { type: 'array', items: targetSchema },
    deviations: { type: 'array', items: deviationSchema },
    notes: { type: 'array', items: text },
  },
  ['run', 'search', 'eval', 'protocol', 'targets', 'deviations', 'notes'],
);

export const suiteSchema: Schema = obj(
  {
    schemaVersion: { const: 1 },
    version: { type: 'integer', minimum: 1, description: 'protocol version: bump it when the protocol changes in a way no configuration field shows; records of another version are stale' },
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
    description: text,
    kind: { enum: ['paper', 'proxy'] },
    seeds: { type: 'array', minItems: 1, uniqueItems: true, items: seedSchema },
    search: searchOverridesSchema,
    eval: evalOverridesSchema,
    methods: { type: 'array', minItems: 1, items: methodRowSchema },
    deviations: { type: 'array', items: deviationSchema },
    notes: { type: 'array', items: text },
    timeouts: obj({ searchSeconds: int(1), evalSeconds: int(1) }),
    cost: {
      ...obj({ wallSeconds: positive, gpuDays: positive, hardware: text, basis: text }, ['wallSeconds', 'gpuDays']),
      description: 'an object with wallSeconds (this machine) or gpuDays, plus hardware and basis',
      anyOf: [
        { type: 'object', required: ['wallSeconds'], properties: { wallSeconds: positive } },
        { type: 'object', required: ['gpuDays'], properties: { gpuDays: positive } },
      ],
    },
  },
  ['version', 'search', 'eval', 'notes'],
);
