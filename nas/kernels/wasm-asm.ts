// A tiny WebAssembly assembler: enough to emit SIMD loops that run directly on the tfjs-backend-wasm heap
// (the module imports the backend's WebAssembly.Memory, so tensors are read and written in place).
// Only i32 / f32 / v128 locals, structured control flow, loads and stores with byte addresses.

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const str = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** Function body builder. Locals are numbered after the params. */
export class Fn {
  readonly code: number[] = [];
  private readonly localTypes: number[] = [];
  constructor(
    readonly name: string,
    readonly params: number[],
  ) {}

  local(type: number): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }
  private emit(...b: number[]): this {
    for (const x of b) this.code.push(x);
    return this;
  }
  get(i: number): this { return this.emit(0x20, ...uleb(i)); }
  set(i: number): this { return this.emit(0x21, ...uleb(i)); }
  tee(i: number): this { return this.emit(0x22, ...uleb(i)); }
  i32(v: number): this { return this.emit(0x41, ...sleb(v)); }
  add(): this { return this.emit(0x6a); }
  sub(): this { return this.emit(0x6b); }
  mul(): this { return this.emit(0x6c); }
  divS(): this { return this.emit(0x6d); }
  divU(): this { return this.emit(0x6e); }
  eqz(): this { return this.emit(0x45); }
  and(): this { return this.emit(0x71); }
  shrU(): this { return this.emit(0x76); }
  ne(): this { return this.emit(0x47); }
  ltS(): this { return this.emit(0x48); }
  ltU(): this { return this.emit(0x49); }
  gtS(): this { return this.emit(0x4a); }
  geS(): this { return this.emit(0x4e); }
  select(): this { return this.emit(0x1b); }
  f32load(offset = 0): this { return this.emit(0x2a, 2, ...uleb(offset)); }
  i32load(offset = 0): this { return this.emit(0x28, 2, ...uleb(offset)); }
  f32store(offset = 0): this { return this.emit(0x38, 2, ...uleb(offset)); }
  f32add(): this { return this.emit(0x92); }
  f32div(): this { return this.emit(0x95); }
  f32const(v: number): this {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return this.emit(0x43, ...b);
  }
  f32convertI32S(): this { return this.emit(0xb2); }
  f32mul(): this { return this.emit(0x94); }
  v128load(offset = 0): this { return this.emit(0xfd, 0x00, 2, ...uleb(offset)); }
  v128store(offset = 0): this { return this.emit(0xfd, 0x0b, 2, ...uleb(offset)); }
  /** v128.load32_splat: one f32 from memory into all four lanes. */
  v128load32splat(offset = 0): this { return this.emit(0xfd, 0x09, 2, ...uleb(offset)); }
  f32x4splat(): this { return this.emit(0xfd, ...uleb(0x13)); }
  f32x4add(): this { return this.emit(0xfd, ...uleb(0xe4)); }
  f32x4sub(): this { return this.emit(0xfd, ...uleb(0xe5)); }
  f32x4mul(): this { return this.emit(0xfd, ...uleb(0xe6)); }
  v128zero(): this { return this.emit(0xfd, 0x0c, ...new Array<number>(16).fill(0)); }
  f32x4extract(lane: number): this { return this.emit(0xfd, ...uleb(0x1f), lane); }
  f32x4gt(): this { return this.emit(0xfd, ...uleb(0x44)); }
  /** f32x4.max: NaN if either lane is NaN. */
  f32x4max(): this { return this.emit(0xfd, ...uleb(0xe9)); }
  v128and(): this { return this.emit(0xfd, ...uleb(0x4e)); }
  f64x2add(): this { return this.emit(0xfd, ...uleb(0xf0)); }
  /** f64x2.promote_low_f32x4: lanes 0 and 1 as doubles. */
  f64x2promoteLow(): this { return this.emit(0xfd, ...uleb(0x5f)); }
  /** i8x16.shuffle of the two vectors on the stack with 16 lane indices (0-15 first, 16-31 second). */
  i8x16shuffle(lanes: number[]): this { return this.emit(0xfd, ...uleb(0x0d), ...lanes); }
  /** bitselect(a, b, mask) = (a & mask) | (b & ~mask); push a, b, mask. */
  bitselect(): this { return this.emit(0xfd, ...uleb(0x52)); }
  i32x4splat(): this { return this.emit(0xfd, ...uleb(0x11)); }
  i32x4extract(lane: number): this { return this.emit(0xfd, ...uleb(0x1b), lane); }
  /** local dst = min(local a, local b) / max(...), signed. */
  minS(dst: number, a: number, b: number): this { return this.get(a).get(b).get(a).get(b).ltS().select().set(dst); }
  maxS(dst: number, a: number, b: number): this { return this.get(a).get(b).get(a).get(b).gtS().select().set(dst); }
  br(depth: number): this { return this.emit(0x0c, ...uleb(depth)); }
  brIf(depth: number): this { return this.emit(0x0d, ...uleb(depth)); }
  block(body: () => void): this { this.emit(0x02, 0x40); body(); return this.emit(0x0b); }
  loop(body: () => void): this { this.emit(0x03, 0x40); body(); return this.emit(0x0b); }
  /** if (top of stack != 0) { then } */
  if(then: () => void): this { this.emit(0x04, 0x40); then(); return this.emit(0x0b); }

  /** for (i = start; i < end; i += step) body — start/end push one i32 each; body must leave the stack empty. */
  for(i: number, start: () => void, end: () => void, body: () => void, step = 1): this {
    start();
    this.set(i);
    return this.block(() =>
      this.loop(() => {
        this.get(i); end(); this.geS(); this.brIf(1);
        body();
        this.get(i).i32(step).add().set(i);
        this.br(0);
      }),
    );
  }
  /**
   * Channel vectors in blocks: cb = 0, then `block(sizes[0])` while cb + 16·sizes[0] ≤ limit (bytes), then each
   * smaller size at most once if it still fits. `block(V)` must advance cb by 16·V.
   */
  vectorBlocks(cb: number, limit: number, sizes: number[], block: (V: number) => void): this {
    this.i32(0).set(cb);
    this.block(() => this.loop(() => {
      this.get(cb).i32(16 * sizes[0]).add().get(limit).gtS().brIf(1);
      block(sizes[0]);
      this.br(0);
    }));
    for (const V of sizes.slice(1)) {
      this.get(cb).i32(16 * V).add().get(limit).gtS().eqz();
      this.if(() => block(V));
    }
    return this;
  }
  /** do { body } while (--counter != 0)  (counter must be > 0 on entry). */
  countdown(counter: number, body: () => void): this {
    return this.loop(() => {
      body();
      this.get(counter).i32(1).sub().tee(counter).brIf(0);
    });
  }

  encode(): number[] {
    const groups: number[][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const body = [...vec(groups.map(([n, t]) => [...uleb(n), t])), ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

/** Pages of a 4 GiB memory: the maximum a shared memory import must declare. */
const MAX_PAGES = 65536;

/**
 * A module importing memory env.mem and exporting every function (no results; all params as declared).
 * `shared`: the import is a shared memory (limits flag 3 with the 4 GiB maximum), which is what a threaded
 * emscripten build such as tfjs-backend-wasm-threaded-simd creates; a non-shared import cannot link to it.
 */
export function assemble(fns: Fn[], shared = false): Uint8Array {
  const types = fns.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0]);
  const limits = shared ? [0x03, 0x00, ...uleb(MAX_PAGES)] : [0x00, 0x00];
  const imports = vec([[...str('env'), ...str('mem'), 0x02, ...limits]]);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(7, vec(fns.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(fns.map((f) => f.encode()))),
  ];
  return new Uint8Array(bytes);
}
