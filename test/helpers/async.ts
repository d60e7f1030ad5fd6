// Small helpers shared by the tests.
import assert from 'node:assert/strict';

/** Every item of an async generator (e.g. a Split's batches). */
export async function collect<T>(it: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const b of it) out.push(b);
  return out;
}

/** Await a rejection whose message matches every pattern; returns the message. */
export async function rejects(p: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
  try {
    await p;
  } catch (err) {
    const m = (err as Error).message;
    for (const re of patterns) assert.match(m, re);
    return m;
  }
  throw new Error(`expected a rejection matching ${patterns.join(' ')}`);
}
