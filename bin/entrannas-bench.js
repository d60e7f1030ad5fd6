#!/usr/bin/env node
// Thin launcher: the CLI lives in harness/cli.ts (compiled to dist/ by `npm install` through the prepare script).
import { main } from '../dist/harness/cli.js';

main(process.argv).then(
  (code) => { process.exitCode = code ?? 0; },
  (err) => {
    console.error(`entrannas-bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
