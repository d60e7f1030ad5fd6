// Thin CLI: parses flags with commander and calls functions that the tests also call.
// Each command lives in harness/commands/<name>.ts (harness/commands/README.md) and exports register(program).
//
// Start-up stays light: most command modules load TensorFlow.js (≈ 3 s, 140 MB), so a command's module is imported
// only when that command runs. `--help`, `--version` and an unknown command see the table below (a one-line
// summary each); `<command> --help` loads that command and shows its full help.
import { Command, CommanderError } from 'commander';
import { EXIT_CODE_HELP, usageExit } from './commands/common.js';
import { packageVersion } from '../nas/util/fs.js';

type CommandModule = { register(program: Command): void };

interface CommandEntry {
  /** What `--help` lists; the module's own description is the full text. */
  summary: string;
  /** The modules that register the command (a group such as `history` has several). */
  load(): Promise<CommandModule[]>;
  hidden?: boolean;
}

/** Every command, in help order. */
export const COMMANDS: Record<string, CommandEntry> = {
  arch: { summary: 'inspect architectures (params, mult-adds, cell drawings)', load: async () => [await import('./commands/arch.js'), await import('./commands/draw.js')] },
  data: { summary: 'inspect and fetch datasets', load: async () => [await import('./commands/data.js')] },
  search: { summary: 'run one architecture search', load: async () => [await import('./commands/search.js')] },
  eval: { summary: 'train a genotype from scratch and test it', load: async () => [await import('./commands/eval.js')] },
  run: { summary: 'run a suite: every (row, seed) search then eval, then write tables', load: async () => [await import('./commands/run.js')] },
  report: { summary: 'aggregate run records into tables (and the HTML report)', load: async () => [await import('./commands/report.js')] },
  check: { summary: 'the verdict gate over the run records (fails closed)', load: async () => [await import('./commands/check.js')] },
  suites: { summary: 'list the built-in suites', load: async () => [await import('./commands/suites.js')] },
  judge: { summary: 'judge per-seed values against a paper target', load: async () => [await import('./commands/judge.js')] },
  bench: { summary: 'micro-benchmarks and `bench step`', load: async () => [await import('./commands/bench.js')] },
  compare: { summary: 'the regression gate between two history entries', load: async () => [await import('./commands/compare.js')] },
  history: {
    summary: 'benchmark history per machine class and commit (steps, record, export)',
    load: async () => [await import('./commands/history.js'), await import('./commands/history-export.js')],
  },
  // `run` registers the hidden child command too.
  task: { summary: 'run one run of a frozen plan (cluster executors call this)', load: async () => [await import('./commands/task.js')] },
  status: { summary: "each run's state from the records and, where Slurm is there, squeue/sacct", load: async () => [await import('./commands/status.js')] },
  merge: { summary: 'combine results directories from several machines, refusing conflicting records', load: async () => [await import('./commands/merge.js')] },
  _phase: { summary: 'internal: run one phase (spawned by `run`)', load: async () => [await import('./commands/run.js')], hidden: true },
};

function rootProgram(): Command {
  return new Command()
    .name('entrannas-bench')
    .description('Reproducibility benchmark harness for EnTranNAS, EnTranNAS-DST and DARTS-style baselines')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .addHelpText('after', `\n${EXIT_CODE_HELP}`)
    .exitOverride(usageExit);
}

/** The command argv names (`help <command>` names it too), if it is one of COMMANDS. */
function requestedCommand(argv: string[]): string | undefined {
  const args = argv.slice(2);
  const first = args.findIndex((a) => !a.startsWith('-'));
  if (first < 0) return undefined;
  const name = args[first] === 'help' ? args[first + 1] : args[first];
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? name : undefined;
}

/**
 * The program for `argv`: the named command's module registered in full, or (no command, --help, --version, an
 * unknown name) every command as a summary only, so nothing heavy loads.
 */
export async function buildProgram(argv: string[] = process.argv): Promise<Command> {
  const program = rootProgram();
  const name = requestedCommand(argv);
  if (name !== undefined) {
    for (const m of await COMMANDS[name].load()) m.register(program);
    return program;
  }
  for (const [n, c] of Object.entries(COMMANDS)) {
    if (c.hidden) continue;
    program.command(n, { hidden: c.hidden }).summary(c.summary).helpOption(false).allowUnknownOption().allowExcessArguments();
  }
  return program;
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  process.exitCode = 0;
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return Number(process.exitCode ?? 0);
}
