// Temporary directories for a test file, removed after its tests (a mocha `after` hook where the helper is called).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A maker of fresh directories under the OS temp dir, named `<prefix>XXXXXX`; every one is removed after the tests. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}
