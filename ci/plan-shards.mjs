#!/usr/bin/env node
// node ci/plan-shards.mjs <plan.json>: the plan's (row, seed) chains as a GitHub Actions matrix, one line of JSON:
// [{"row":"entrannas","seed":0,"indices":"0,1"}, …] (indices in plan order: the search, then its eval).
import fs from 'node:fs';

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const chains = new Map();
for (const r of plan.runs) {
  const key = `${r.row}\u0000${r.seed}`;
  if (!chains.has(key)) chains.set(key, { row: r.row, seed: r.seed, indices: [] });
  chains.get(key).indices.push(r.index);
}
if (chains.size > 256) {
  console.error(`plan-shards: ${chains.size} chains; a GitHub Actions matrix holds at most 256 jobs`);
  process.exit(1);
}
console.log(JSON.stringify([...chains.values()].map((c) => ({ ...c, indices: c.indices.join(',') }))));
