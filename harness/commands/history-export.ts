// `history export --format github-action-benchmark`: one history entry (default the newest of its machine class) as
// github-action-benchmark's custom JSON. A subcommand of the `history` group (harness/commands/common.ts commandGroup).
import { Option, type Command } from 'commander';
import { findEntry, listMachineClasses, readHistory } from '../perf/history.js';
import { writeFileAtomicAsync } from '../../nas/util/fs.js';
import { benchmarkActionItems, type BenchmarkActionItem, type BenchmarkActionTool } from '../perf/benchmark-action.js';
import { EXIT, InputError, act, processIO, subcommand, type CommandIO, commandGroup } from './common.js';

export const EXPORT_FORMATS = { 'github-action-benchmark': 'customSmallerIsBetter', 'github-action-benchmark-bigger': 'customBiggerIsBetter' } as const;
export type ExportFormat = keyof typeof EXPORT_FORMATS;

export interface ExportOptions {
  format?: ExportFormat;
  history?: string;
  machineClass?: string;
  commit?: string;
  out?: string;
}

export async function exportCommand(o: ExportOptions, io: CommandIO = processIO): Promise<{ exitCode: number; items: BenchmarkActionItem[]; text: string }> {
  const dir = o.history ?? 'results/history';
  const classes = await listMachineClasses(dir);
  let cls = o.machineClass;
  if (!cls) {
    if (classes.length === 0) throw new InputError(`no history in ${dir} (write one with \`history record\`)`);
    if (classes.length > 1) throw new InputError(`${dir} holds several machine classes (${classes.join(', ')}); pass --machine-class`);
    cls = classes[0];
  }
  const entries = await readHistory(dir, cls, { onSkip: (file, why) => io.err(`skipped ${file}: ${why}\n`) });
  if (entries.length === 0) throw new InputError(`no history for machine class ${cls} in ${dir}${classes.length ? ` (classes with history: ${classes.join(', ')})` : ''}`);
  let entry = entries[entries.length - 1];
  if (o.commit) {
    try {
      entry = findEntry(entries, o.commit);
    } catch (err) {
      throw new InputError(`${(err as Error).message} (machine class ${cls}, ${dir})`);
    }
  }
  const tool: BenchmarkActionTool = EXPORT_FORMATS[o.format ?? 'github-action-benchmark'];
  const { items, left } = benchmarkActionItems(entry, tool);
  if (left.length > 0) {
    io.err(`left out ${left.length} measure(s) where ${tool === 'customSmallerIsBetter' ? 'higher' : 'lower'} is better (export them with --format ${tool === 'customSmallerIsBetter' ? 'github-action-benchmark-bigger' : 'github-action-benchmark'}): ${left.join(', ')}\n`);
  }
  const text = `${JSON.stringify(items, null, 2)}\n`;
  if (o.out) {
    await writeFileAtomicAsync(o.out, text);
    io.err(`wrote ${o.out} (${items.length} measures of ${entry.commit}, ${cls}; tool: ${tool})\n`);
  } else io.out(text);
  return { exitCode: EXIT.ok, items, text };
}

export function register(program: Command, io: CommandIO = processIO): void {
  subcommand(commandGroup(program, 'history', 'Benchmark history per machine class and commit'), 'export')
    .description('Export one history entry for github-action-benchmark (tool customSmallerIsBetter: [{name, unit, value, range, extra}])')
    .addOption(new Option('--format <format>', 'github-action-benchmark (customSmallerIsBetter) or github-action-benchmark-bigger (customBiggerIsBetter)')
      .choices(Object.keys(EXPORT_FORMATS)).default('github-action-benchmark'))
    .option('--history <dir>', 'history directory', 'results/history')
    .option('--machine-class <class>', 'machine class (default: the only one in the history directory)')
    .option('--commit <sha>', 'entry to export (unique prefix ok; default: the newest)')
    .option('--out <file>', 'write the JSON here (default: stdout)')
    .action(async function (this: Command, o: ExportOptions) {
      await act(this, io, () => exportCommand(o, io));
    });
}
