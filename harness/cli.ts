// Thin CLI: parses flags with commander and calls functions that the tests also call.
// Each command lives in harness/commands/<name>.ts (harness/commands/README.md) and exports register(program).
import { Command, CommanderError } from 'commander';
import * as arch from './commands/arch.js';
import * as data from './commands/data.js';
import * as search from './commands/search.js';
import * as evaluate from './commands/eval.js';
import * as run from './commands/run.js';
import * as report from './commands/report.js';
import * as check from './commands/check.js';
import * as suites from './commands/suites.js';
import * as bench from './commands/bench.js';
import * as compare from './commands/compare.js';
import * as judge from './commands/judge.js';
import { EXIT_CODE_HELP, usageExit } from './commands/common.js';
import { packageVersion } from '../nas/util/fs.js';
import * as history from './commands/history.js';
import * as task from './commands/task.js';
import * as status from './commands/status.js';
import * as merge from './commands/merge.js';
import * as historyExport from './commands/history-export.js';
import * as draw from './commands/draw.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('entrannas-bench')
    .description('Reproducibility benchmark harness for EnTranNAS, EnTranNAS-DST and DARTS-style baselines')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .addHelpText('after', `\n${EXIT_CODE_HELP}`)
    .exitOverride(usageExit);
  for (const m of [arch, data, search, evaluate, run, report, check, suites, judge, bench, compare, history, task, status, merge, historyExport, draw]) m.register(program);
  return program;
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  process.exitCode = 0;
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return Number(process.exitCode ?? 0);
}
