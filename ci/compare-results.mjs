#!/usr/bin/env node
// node ci/compare-results.mjs <suite> <results A> <results B>: the two directories hold the same runs with the same
// outcomes, genotypes, loss traces and tables, in everything but timing and memory measurements (and the
// process facts: pid, host, GPU). Exit 1, naming every difference, when they do not.
import fs from 'node:fs';
import path from 'node:path';

const [suite, a, b] = process.argv.slice(2);
if (!b) {
  console.error('usage: node ci/compare-results.mjs <suite> <results A> <results B>');
  process.exit(2);
}
// Keys whose values depend on when, where and how fast a run ran, not on what it computed.
const TIMING = /^(startedAt|finishedAt|generatedAt|resultsDir|measures|env|file|searchDeviceDays|searchWallSeconds|searchMsPerStep|deviceClasses|searchEpochSeconds|searchOnPaperGpu|searchPeakRssBytes|searchPeakTensorBytes|evalPeakRssBytes|evalPeakTensorBytes)$/;

function strip(x) {
  if (Array.isArray(x)) return x.map(strip);
  if (x && typeof x === 'object') {
    return Object.fromEntries(Object.keys(x).sort().filter((k) => !TIMING.test(k)).map((k) => [k, strip(x[k])]));
  }
  // the dataset line says how long loading took ("cached in 403 ms")
  return typeof x === 'string' ? x.replace(/\b(cached|parsed) in \d+ ms/g, 'loaded') : x;
}

function records(dir) {
  const out = new Map();
  const root = path.join(dir, 'runs', suite);
  for (const row of fs.readdirSync(root).filter((d) => !d.startsWith('.'))) {
    for (const seed of fs.readdirSync(path.join(root, row)).filter((d) => d.startsWith('seed-'))) {
      for (const phase of ['search', 'eval']) {
        const f = path.join(root, row, seed, `${phase}.json`);
        if (fs.existsSync(f)) out.set(`${row}/${seed}/${phase}`, strip(JSON.parse(fs.readFileSync(f, 'utf8'))));
      }
    }
  }
  return out;
}

const problems = [];
const ra = records(a);
const rb = records(b);
for (const k of new Set([...ra.keys(), ...rb.keys()])) {
  if (!ra.has(k) || !rb.has(k)) problems.push(`${k}: only in ${ra.has(k) ? a : b}`);
  else if (JSON.stringify(ra.get(k)) !== JSON.stringify(rb.get(k))) {
    const x = ra.get(k);
    const y = rb.get(k);
    const fields = Object.keys({ ...x, ...y }).filter((f) => JSON.stringify(x[f]) !== JSON.stringify(y[f]));
    problems.push(`${k}: records differ in ${fields.join(', ')}`);
  }
}
const table = (dir) => strip(JSON.parse(fs.readFileSync(path.join(dir, 'tables', `${suite}.json`), 'utf8')));
if (JSON.stringify(table(a)) !== JSON.stringify(table(b))) problems.push(`tables/${suite}.json differ beyond timing`);
const genotypes = [...ra].filter(([k]) => k.endsWith('/search')).map(([k, r]) => `${k}: ${JSON.stringify(r.search?.genotype).slice(0, 80)}…`);
if (problems.length) {
  console.error(`compare: ${a} and ${b} differ:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`compare: ${ra.size} records and the ${suite} table agree in everything but timing\n  ${genotypes.join('\n  ')}`);
