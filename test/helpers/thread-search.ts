// A child process for test/threads.test.ts: a small search on the wasm backend with the thread count given as
// argv[2] and the method as argv[3] (argv[4] = 'whole': our kernel calls run unsplit, setSplitting(false)); prints
// {threads, splitCalls, status, lossTrace, archLossTrace, genotype} as one JSON line.
// (The thread count of the wasm backend is fixed per process, so each count needs its own process.)
import { initBackend } from '../../nas/backend.js';
import { merge } from '../../nas/config.js';
import { defaultSearchConfig, type MethodName } from '../../methods/registry.js';
import { loadDataset, searchSplits } from '../../nas/data/index.js';
import { createSearch } from '../../methods/registry.js';
import { runSearch } from '../../nas/train.js';
import { splitCallCount } from '../../nas/kernels/parallel.js';
import { setSplitting } from '../../nas/kernels/split.js';

const threads = Number(process.argv[2]);
const method = process.argv[3] as MethodName;
const info = await initBackend('wasm', { threads });
if (process.argv[4] === 'whole') setSplitting(false);
// big enough that the kernels split (batch 8, 16×16, C = 8: above the split threshold of nas/kernels/split.ts)
const cfg = merge(defaultSearchConfig(method, 3), {
  data: { dataset: 'synthetic', synthetic: { trainSize: 64, testSize: 16, shape: [16, 16, 3], numClasses: 4 } },
  layers: 3, channels: 8, batchSize: 8, epochs: 1, stepsPerEpoch: 3, archWarmupEpochs: 0, evalBatches: 1,
});
const ds = await loadDataset(cfg.data);
const sp = searchSplits(ds, cfg.data, cfg.seed);
const m = createSearch(cfg, { numClasses: ds.numClasses, imageShape: ds.imageShape });
const out = await runSearch(m, { ...sp, augment: false });
m.dispose();
process.stdout.write(JSON.stringify({
  threads: info.threads, splitCalls: splitCallCount(), status: out.status, lossTrace: out.lossTrace, archLossTrace: out.archLossTrace, genotype: out.genotype,
}) + '\n');
