// The command convention, one owner for: the exit-code table of every command, the error type for bad input, the
// IO seam the tests capture, the action wrapper that turns bad input into the usage exit code, and subcommand
// creation (so commander's own usage errors exit with the same code as ours).
import { CommanderError, type Command } from 'commander';

/** One exit-code table for every command (README "Exit codes", and `--help`). */
export const EXIT = {
  /** Everything asked for ran and passed. */
  ok: 0,
  /** Something ran and failed: a run that did not end ok, a check or gate that failed, leaked tensors. */
  failed: 1,
  /** Bad usage or bad input: a flag, a file, a suite, a name. Nothing ran; the message names what to fix. */
  usage: 2,
  /** compare / the gate: a significant slowdown against the base. */
  regression: 3,
  /** search / eval: the loss stopped being finite (the run's record says `diverged`). */
  diverged: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table as text, for `--help` and the README. */
export const EXIT_CODE_HELP = [
  'Exit codes (every command):',
  `  ${EXIT.ok}  ok`,
  `  ${EXIT.failed}  failed: a run did not end ok, a check or gate failed, tensors leaked`,
  `  ${EXIT.usage}  usage: bad flags or bad input (files, suites, names); the message names what to fix`,
  `  ${EXIT.regression}  regression: compare or the gate found a significant slowdown`,
  `  ${EXIT.diverged}  diverged: search or eval stopped on a non-finite loss`,
  '  128+n  interrupted by signal n (run: 130 ^C, 129 SIGHUP, 143 SIGTERM); rerun with --resume',
].join('\n');

/** Bad input (not a bug): reported as one line naming the problem, with exit code EXIT.usage. */
export class InputError extends Error {
  override name = 'InputError';
}

/** Where a command writes; tests pass a capturing one. */
export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
}

export const processIO: CommandIO = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** "bench step", "history record", "run": the command's name as the user typed it. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Run a command's work and set the process exit code from its result. An InputError becomes one line on stderr
 * ("entrannas-bench <command>: <message>") and a CommanderError with EXIT.usage; anything else propagates (a bug).
 */
export async function act<T extends { exitCode: number }>(cmd: Command, io: CommandIO, run: () => Promise<T>): Promise<T | undefined> {
  try {
    const out = await run();
    process.exitCode = out.exitCode;
    return out;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    io.err(`entrannas-bench ${commandPath(cmd)}: ${err.message}\n`);
    throw new CommanderError(EXIT.usage, 'entrannas.input', err.message);
  }
}

/** commander's own errors (unknown option, invalid argument, missing value) exit with EXIT.usage; help and version with 0. */
export function usageExit(err: CommanderError): never {
  if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') throw err;
  throw new CommanderError(EXIT.usage, err.code, err.message);
}

/** Create a subcommand that follows the exit-code table. */
export function subcommand(parent: Command, nameAndArgs: string, opts?: { hidden?: boolean }): Command {
  return parent.command(nameAndArgs, opts).exitOverride(usageExit);
}

/**
 * A command group ("arch", "history"), created on first use: command files that add a subcommand to a group find it
 * here instead of importing the file that made it, so no command file imports another.
 */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? subcommand(program, name).description(description);
}
