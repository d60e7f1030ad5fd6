// `--help` and `--version` must not load TensorFlow.js (it costs seconds): a module-resolution hook records every
// module the CLI loads, and none may come from @tensorflow. A command does load its own module (arch: tfjs), which
// shows that the hook sees what is loaded.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { binPath } from '../harness/run/child-protocol.js';

let dir: string;
let register: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entrannas-startup-'));
  const hooks = path.join(dir, 'hooks.mjs');
  fs.writeFileSync(hooks, `import fs from 'node:fs';
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  if (process.env.LOAD_LOG) fs.appendFileSync(process.env.LOAD_LOG, r.url + '\\n');
  return r;
}
`);
  register = path.join(dir, 'register.mjs');
  fs.writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function loaded(...args: string[]): Promise<{ urls: string[]; stdout: string; exitCode: number }> {
  const log = path.join(dir, `log-${args.join('_').replace(/\W/g, '')}.txt`);
  fs.rmSync(log, { force: true });
  const r = await execa(process.execPath, ['--import', register, binPath(), ...args], { reject: false, env: { LOAD_LOG: log } });
  const urls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
  return { urls, stdout: r.stdout, exitCode: r.exitCode ?? -1 };
}

const tfjs = (urls: string[]) => urls.filter((u) => u.includes('@tensorflow'));

describe('CLI start-up', function () {
  this.timeout(60_000);

  it('--help and --version load no TensorFlow.js module, and --help still lists every command and the exit codes', async () => {
    const help = await loaded('--help');
    assert.equal(help.exitCode, 0);
    assert.ok(help.urls.some((u) => u.endsWith('/harness/cli.js')), 'the hook saw the CLI load');
    assert.deepEqual(tfjs(help.urls), []);
    for (const c of ['arch', 'data', 'search', 'eval', 'run', 'report', 'check', 'suites', 'judge', 'bench', 'compare', 'history']) {
      assert.match(help.stdout, new RegExp(`^  ${c}\\b`, 'm'), c);
    }
    assert.match(help.stdout, /Exit codes \(every command\):\n  0  ok\n  1  failed/);
    const version = await loaded('--version');
    assert.equal(version.exitCode, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
    assert.deepEqual(tfjs(version.urls), []);
  });

  it('the hook does see TensorFlow.js when a command loads it (`arch --help`), and `check --help` shows the full help', async () => {
    const arch = await loaded('arch', '--help');
    assert.ok(tfjs(arch.urls).length > 0, 'the hook sees tfjs when a command loads it');
    const check = await loaded('check', '--help');
    assert.match(check.stdout, /--results <dir>/);
    assert.match(check.stdout, /--json/);
  });
});
