// The HTML report in a real browser: headless chromium (Debian's `chromium` package) driven by playwright-core,
// opened from a file:// URL. No console errors, no failed requests, every chart rendered with a non-zero size, one
// cell drawing per final genotype, and a screenshot of every chart region that is not blank (pixel variance, decoded
// with sharp). Skipped, naming the package, where no chromium can be found.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writeHtmlReport } from '../harness/views/html.js';
import { tmpDir, writeFixtureHistory, writeFixtureResults } from './helpers/report-fixture.js';

/** Where chromium may be: $CHROMIUM_PATH, then the Debian and other usual binaries. */
export function findChromium(): string | undefined {
  const names = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];
  const onPath = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).flatMap((d) => names.map((n) => path.join(d, n)));
  const candidates = [process.env.CHROMIUM_PATH, ...names.map((n) => `/usr/bin/${n}`), ...onPath];
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

export const NO_CHROMIUM = 'no chromium found: install Debian\'s `chromium` package (apt-get install -y chromium) or set CHROMIUM_PATH';

/** Variance of the greyscale pixels of a PNG (0 for a blank region). */
async function pixelVariance(png: Buffer): Promise<number> {
  const { data } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  let sum = 0;
  let sq = 0;
  for (const v of data) {
    sum += v;
    sq += v * v;
  }
  const m = sum / data.length;
  return sq / data.length - m * m;
}

/** Minimum greyscale variance of a chart screenshot: a white region is 0; our sparsest chart is far above this. */
const MIN_VARIANCE = 50;

interface Opened { page: Page; errors: string[]; failed: string[] }

async function open(browser: Browser, file: string): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const failed: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) failed.push(`network request ${r.url()}`); });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, errors, failed };
}

describe('report --html in a real browser (headless chromium)', function () {
  this.timeout(120000);
  const exe = findChromium();
  let browser: Browser | undefined;
  const dirs: string[] = [];

  before(async function () {
    if (!exe) {
      console.log(`      skipped: ${NO_CHROMIUM}`);
      this.skip();
    }
    browser = await chromium.launch({ executablePath: exe, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  });
  after(async () => {
    await browser?.close();
    dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
  });

  it('renders every chart with a non-zero size and a non-blank screenshot, and one drawing per final genotype', async () => {
    const fx = writeFixtureResults();
    dirs.push(fx.dir);
    await writeFixtureHistory(path.join(fx.dir, 'history'));
    const built = await writeHtmlReport({ results: fx.dir });
    const { page, errors, failed } = await open(browser!, built.file);
    try {
      assert.deepEqual(errors, [], 'console errors');
      assert.deepEqual(failed, [], 'failed or network requests');

      const charts = await page.$$('figure.chart');
      assert.equal(charts.length, built.charts);
      assert.ok(charts.length >= 20, `${charts.length} charts`);
      for (const [i, fig] of charts.entries()) {
        const kind = await fig.getAttribute('data-chart');
        const svg = await fig.$('.plot > svg');
        assert.ok(svg, `chart ${i} (${kind}) has an SVG`);
        await svg.scrollIntoViewIfNeeded();
        const box = await svg.boundingBox();
        assert.ok(box && box.width > 50 && box.height > 50, `chart ${i} (${kind}) is ${box?.width}×${box?.height}`);
        const shot = await (await fig.$('.plot'))!.screenshot();
        const v = await pixelVariance(shot);
        assert.ok(v > MIN_VARIANCE, `chart ${i} (${kind}) looks blank: pixel variance ${v.toFixed(1)}`);
      }

      const drawings = await page.$$('figure.genotype');
      assert.equal(drawings.length, fx.finalGenotypes, 'one drawing per final genotype');
      for (const d of drawings) {
        const cells = await d.$$('.cell > svg');
        assert.equal(cells.length, 2, 'normal and reduction cell');
        for (const c of cells) {
          const box = await c.boundingBox();
          assert.ok(box && box.width > 50 && box.height > 30, `cell drawing ${box?.width}×${box?.height}`);
          // The op labels are real text in the drawing.
          assert.ok((await c.$$('g.edge text')).length >= 2);
        }
      }
      const variance = await pixelVariance(await drawings[0].screenshot());
      assert.ok(variance > MIN_VARIANCE, `cell drawing variance ${variance}`);
    } finally {
      await page.close();
    }
  });

  it('an empty results directory: the page says so, visibly', async () => {
    const empty = tmpDir();
    dirs.push(empty);
    const built = await writeHtmlReport({ results: empty });
    const { page, errors, failed } = await open(browser!, built.file);
    try {
      assert.deepEqual(errors, []);
      assert.deepEqual(failed, []);
      const note = page.locator('#empty');
      assert.ok(await note.isVisible());
      assert.match(await note.innerText(), /No run records\. Nothing was found under .*runs/);
      assert.equal(await page.locator('figure.genotype').count(), 0);
    } finally {
      await page.close();
    }
  });
});
