// `merge --into DIR A B …`: combine results directories from machines that did not share a filesystem
// (harness/run/executors/merge.ts has the rules); refuses two different finished records of the same run.
import type { Command } from 'commander';
import { MergeConflict, mergeResults } from '../run/executors/merge.js';
import { EXIT, InputError, act, processIO, subcommand, type CommandIO } from './common.js';

export function register(program: Command, io: CommandIO = processIO): void {
  subcommand(program, 'merge')
    .description('combine results directories into one (--into): copies of a record are one; a finished record replaces ' +
      'failed ones (kept in previous-records/); two different finished records of one run are refused and nothing is written')
    .argument('<sources...>', 'results directories to take records from')
    .requiredOption('--into <dir>', 'results directory to merge into (created when missing; its own records take part)')
    .action(async function (this: Command, sources: string[], opts: { into: string }) {
      await act(this, io, async () => {
        let s;
        try {
          s = mergeResults(sources, opts.into);
        } catch (err) {
          if (err instanceof MergeConflict || (err as Error).message.includes('no such results directory')) throw new InputError((err as Error).message);
          throw err;
        }
        io.out(`merge into ${opts.into}: ${s.copied.length} record(s) copied, ${s.same.length} already there, ${s.superseded.length} superseded\n`);
        for (const x of s.superseded) io.out(`  superseded: ${x}\n`);
        io.out(`tables: entrannas-bench report --results ${opts.into}\n`);
        return { exitCode: EXIT.ok };
      });
    });
}
