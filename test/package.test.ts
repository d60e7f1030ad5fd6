// The package as the registry would ship it: `npm pack`, install the tarball into an empty directory, and run the
// installed CLI from there. Installs from the npm cache that `npm ci` filled (--prefer-offline), ≈ 30 s.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot, packageVersion } from '../nas/util/fs.js';

describe('package: installed from its tarball', function () {
  this.timeout(240_000);
  let dir: string;
  let tarball: string;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entrannas-pack-'));
    // dist/ is already built by `npm test`; --ignore-scripts skips prepack's second build.
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: packageRoot(), encoding: 'utf8' });
    const info = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = path.join(dir, info[0].filename);
    const files = info[0].files.map((f) => f.path);
    assert.ok(files.includes('dist/harness/cli.js'), 'the tarball ships the compiled CLI');
    assert.ok(files.some((f) => f.startsWith('suites/')), 'the tarball ships the suites');
    assert.ok(!files.some((f) => f.startsWith('dist/test/') || f.startsWith('test/')), 'no tests in the tarball');
    const app = path.join(dir, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app, stdio: 'pipe' });
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cli = (...args: string[]) =>
    execFileSync('npx', ['--no-install', 'entrannas-bench', ...args], {
      cwd: path.join(dir, 'app'), encoding: 'utf8', env: { ...process.env, ENTRANNAS_CACHE_DIR: path.join(dir, 'cache') },
    });

  it('npx entrannas-bench --version prints the package version', () => {
    assert.equal(cli('--version').trim(), packageVersion());
  });

  it('arch params counts DARTS_V2 at the DARTS CIFAR-10 size (3,349,342 parameters)', () => {
    const j = JSON.parse(cli('arch', 'params', '--genotype', 'DARTS_V2', '--dataset', 'cifar10', '--channels', '36', '--layers', '20', '--json')) as { params: number };
    assert.equal(j.params, 3_349_342);
  });

  it('the installed package finds its own suites', () => {
    assert.match(cli('suites'), /smoke/);
  });
});
