// Atomic JSON files: write to a temporary file in the same directory, fsync, rename over the target.
// A kill at any moment leaves either the old file or the new one, never partial JSON (write-file-atomic).
import fs from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';

function serialise(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** Write `value` as JSON to `file` atomically, creating the directory if needed. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, serialise(value), { encoding: 'utf8', fsync: true });
}

/** Synchronous variant, for progress-time snapshots inside a phase. */
export function writeJsonAtomicSync(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic.sync(file, serialise(value), { encoding: 'utf8', fsync: true });
}

/** Parse a JSON file; undefined when it does not exist. Throws on malformed JSON (which atomic writes rule out). */
export function readJsonIfExists<T>(file: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}
