#!/usr/bin/env node
// The base of the nightly compare gate: the last good night of a machine class.
//
//   node ci/last-good.mjs <history-dir> <entry-file>          print the base commit (nothing: no earlier night)
//   node ci/last-good.mjs --mark <history-dir> <entry-file>   record <entry-file>'s commit as the last good night
//
// The last good night is the commit named in <history-dir>/<class>/LAST_GOOD (written by the nightly after a
// night that ran clean and passed the gate) when it still has an entry and is not the entry's own commit;
// otherwise the newest entry of the class older than <entry-file>'s (series order: commit time, then recording
// time). LAST_GOOD is plain text, so harness/perf/history.ts (which reads *.json) ignores it.
import fs from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { compareEntries, readHistory, readHistoryEntry } from '../dist/harness/perf/history.js';

const args = process.argv.slice(2);
const mark = args[0] === '--mark';
if (mark) args.shift();
if (args.length !== 2) {
  process.stderr.write('usage: node ci/last-good.mjs [--mark] <history-dir> <entry-file>\n');
  process.exit(2);
}
const [historyDir, entryFile] = args;
const entry = await readHistoryEntry(entryFile);
const classDir = path.join(historyDir, entry.machineClass);
const marker = path.join(classDir, 'LAST_GOOD');

if (mark) {
  fs.mkdirSync(classDir, { recursive: true });
  writeFileAtomic.sync(marker, `${entry.commit}\n`);
  process.stdout.write(`${entry.commit}\n`);
  process.exit(0);
}

const entries = (await readHistory(historyDir, entry.machineClass)).filter((e) => e.commit !== entry.commit);
let base;
if (fs.existsSync(marker)) {
  const commit = fs.readFileSync(marker, 'utf8').trim();
  base = entries.find((e) => e.commit === commit);
  if (!base && commit !== entry.commit) process.stderr.write(`last-good: ${marker} names ${commit}, which has no entry; using the previous night\n`);
}
base ??= entries.filter((e) => compareEntries(e, entry) < 0).at(-1);
if (base) process.stdout.write(`${base.commit}\n`);
