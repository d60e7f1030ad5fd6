// Before a phase resumes: is its checkpoint sound, and was it made with this config? A run's artifacts directory
// holds run-config.json (the resolved work config and its sha256) from the attempt that started it. On resume:
//  - a different config is refused, naming each difference and the remedy (`run --restart <run>` or `--fresh`):
//    continuing the old trajectory under the new config's name would make a record that matches neither;
//  - a damaged checkpoint (nas/checkpoint.ts verifyCheckpoint: sha256, missing or truncated files) is moved aside
//    to checkpoint.damaged-<time>/ and the phase starts from scratch, saying so (one checkpoint is kept per run, so
//    there is no earlier good one to fall back to).
import fs from 'node:fs';
import path from 'node:path';
import { CheckpointDamagedError, verifyCheckpoint } from '../../nas/checkpoint.js';
import { readJsonIfExists, writeJsonAtomicSync } from '../../nas/util/fs.js';
import { runLabel } from '../results/layout.js';
import type { PhaseSpec } from './phase-types.js';


// The checkpoint's config hash is the records' provenance hash: one canonical form, one owner.
export { canonicalJson, configHash } from '../results/provenance.js';
import { configHash, leafDifferences } from '../results/provenance.js';

/** Leaf differences "path: old → new" between two configs. */
export function configDifferences(before: unknown, after: unknown): string[] {
  return leafDifferences(before, after).map((d) => `${d.path || '(config)'}: ${JSON.stringify(d.before) ?? 'absent'} → ${JSON.stringify(d.after) ?? 'absent'}`);
}

export class ConfigChangedError extends Error {
  override name = 'ConfigChangedError';
}

interface RunConfigFile {
  kind: string;
  sha256: string;
  config: unknown;
}

export const RUN_CONFIG_FILE = 'run-config.json';
/** The loops' checkpoint directory inside a run's artifacts (harness/run/loop-hooks.ts). */
export const CHECKPOINT_DIR = 'checkpoint';

/**
 * Decide whether the phase may resume; returns the resume flag to use. Throws ConfigChangedError when the config
 * differs from the one the checkpoint was made with. `say` gets one line per decision worth telling the user.
 */
export function guardResume(spec: PhaseSpec, outDir: string, resume: boolean, say: (line: string) => void): boolean {
  const file = path.join(outDir, RUN_CONFIG_FILE);
  const current: RunConfigFile = { kind: spec.work.kind, sha256: configHash({ kind: spec.work.kind, config: spec.work.config }), config: spec.work.config };
  if (resume) {
    let before: RunConfigFile | undefined;
    try {
      before = readJsonIfExists<RunConfigFile>(file);
    } catch {
      say(`${file} is not JSON: the config of the checkpoint is unknown; it is checked from now on`);
    }
    if (before && before.sha256 !== current.sha256) {
      const diff = configDifferences(before.config, current.config);
      throw new ConfigChangedError(
        `the ${spec.phase} config of ${runLabel(spec)} changed since its checkpoint was made (${diff.slice(0, 8).join('; ')}${diff.length > 8 ? '; …' : ''}): ` +
          `resuming would mix two configs in one run. Rerun with --restart ${runLabel(spec)} (this run from scratch) or --fresh (the whole suite)`,
      );
    }
    const ckDir = path.join(outDir, CHECKPOINT_DIR);
    try {
      verifyCheckpoint(ckDir);
    } catch (err) {
      if (!(err instanceof CheckpointDamagedError)) throw err;
      const aside = `${ckDir}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      fs.renameSync(ckDir, aside);
      say(`${err.message}; moved it to ${aside}; restarting ${runLabel(spec)} from scratch (no earlier good checkpoint is kept)`);
      resume = false;
    }
  }
  if (!resume || !fs.existsSync(file)) writeJsonAtomicSync(file, current);
  return resume;
}
