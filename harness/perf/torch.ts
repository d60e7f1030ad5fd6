// PyTorch as a yardstick (never a dependency): find a python that imports torch, and run bench/torch_supernet.py.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../nas/util/fs.js';

/** --python, $PYTHON, /usr/bin/python3, python3: the first that imports torch (a pyenv python3 may lack it). */
export function findTorchPython(explicit?: string): string {
  const candidates = [explicit, process.env.PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  throw new Error(`no python with torch among ${candidates.join(', ')} (apt-get install python3-torch, or --python)`);
}

/** bench/torch_supernet.py of this checkout (a packed install does not ship bench/). */
export function torchScript(): string {
  const script = path.join(packageRoot(), 'bench', 'torch_supernet.py');
  if (!existsSync(script)) throw new Error(`missing ${script} (the PyTorch comparison runs from a checkout of the repository)`);
  return script;
}
