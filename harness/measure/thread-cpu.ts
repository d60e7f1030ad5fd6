// CPU time per thread of this process, from Linux's /proc/self/task/<tid>/stat: what the main thread spent and what
// the process's other threads (V8's platform workers, which run most of the garbage collector; libuv's pool; our
// kernel helpers) spent beside it. bench/second-core.ts uses it to show what the "idle" second core does during a
// step that runs on one thread. Linux only: elsewhere the reader says so and names the platform.
import fs from 'node:fs';

/** /proc reports times in clock ticks of USER_HZ, which is 100 on every Linux architecture Node supports. */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface TaskTimes {
  /** The thread's name (comm, at most 15 characters: "node", "V8 DefaultWorke", "libuv-worker"). */
  comm: string;
  /** CPU time in user and kernel mode, ms. */
  userMs: number;
  systemMs: number;
}

/**
 * One /proc/<pid>/task/<tid>/stat line. The name sits in parentheses and may itself hold spaces and parentheses, so
 * the fields after it are counted from the LAST ')'. utime and stime are fields 14 and 15 of the line (man 5 proc).
 */
export function parseTaskStat(line: string): TaskTimes {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc stat line (no "(name)"): ${JSON.stringify(line.slice(0, 80))}`);
  const rest = line.slice(close + 2).trim().split(/\s+/); // rest[0] is field 3 (state)
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`a /proc stat line with too few fields (${rest.length + 2}): ${JSON.stringify(line.slice(0, 80))}`);
  }
  const ms = 1000 / CLOCK_TICKS_PER_SECOND;
  return { comm: line.slice(open + 1, close), userMs: utime * ms, systemMs: stime * ms };
}

/** The threads of this process now: tid → times. A thread that ends while we read is left out. */
export function readThreadTimes(): Map<number, TaskTimes> {
  const dir = '/proc/self/task';
  if (!fs.existsSync(dir)) throw new Error(`per-thread CPU time needs Linux's ${dir} (this is ${process.platform})`);
  const out = new Map<number, TaskTimes>();
  for (const tid of fs.readdirSync(dir)) {
    let line: string;
    try {
      line = fs.readFileSync(`${dir}/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended between readdir and read
    }
    out.set(Number(tid), parseTaskStat(line));
  }
  return out;
}

export interface ThreadCpuSplit {
  /** CPU ms (user + system) of the main thread between the two readings. */
  mainMs: number;
  /** CPU ms of every other thread, summed by thread name (threads that started in between count from 0). */
  othersMs: Record<string, number>;
}

/** The CPU each thread spent between two readings; `mainTid` is the process id (the main thread's tid). */
export function threadCpuBetween(before: Map<number, TaskTimes>, after: Map<number, TaskTimes>, mainTid: number): ThreadCpuSplit {
  let mainMs = 0;
  const othersMs: Record<string, number> = {};
  for (const [tid, t] of after) {
    const b = before.get(tid);
    const spent = t.userMs + t.systemMs - (b ? b.userMs + b.systemMs : 0);
    if (tid === mainTid) mainMs = spent;
    else othersMs[t.comm] = (othersMs[t.comm] ?? 0) + spent;
  }
  return { mainMs, othersMs };
}
