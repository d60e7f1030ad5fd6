#!/usr/bin/env python3
"""PyTorch CPU reference of entrannas-bench's search super-net step (issue 7). Never a runtime dependency.

The same super-net as nas/network.ts + nas/cell.ts + nas/ops.ts (DARTS model_search semantics, as our engine runs it):
  stem conv3x3 3→3C (no bias) + BN; L cells, reductions at ⌊L/3⌋ and ⌊2L/3⌋; preprocess ReLUConvBN (1×1) or
  FactorizedReduce after a reduction; MixedOp over the op list with search-time BN (affine=False, batch statistics)
  and BN after pools; avg pool count_include_pad=False; `none` contributes nothing (skipped, as ours);
  global average pool + linear classifier; α per cell type ([14, ops], 1e-3·N(0,1)), softmax(α/τ), τ = 1.
Methods:
  darts-1st      every cell mixed, one op instance per (edge, op), 8 ops.
  entrannas      Engine-cells = first normal and first reduction cell, mixed with feature sharing (one op instance
                 per (source node, op), its output computed once per forward); Transit-cells run the DARTS top-2
                 genotype derived from the current α, unweighted (shared op instances too); 7 ops (no `none`).
  entrannas-dst  as entrannas, Engine-cells weighted by q̂ (entrannas/dst.ts: p = softmax(α/τ), m_j = max of node j's
                 incoming p, q = ReLU(p/m_j − sigmoid(β_j)), q̂ = q / max(Σ_k q, 1e-12)), pairs with q = 0 skipped;
                 Transit-cells run every (input, op) with q > 0.
One step = what SupernetSearch runs (bench step): α step on a validation batch (gradients of α (and β) only; clip
‖g‖ ≤ 10; Adam β=(0.5, 0.999), L2 1e-3 on α, none on β), re-derive, then the weight step on a training batch
(gradients of the weights only; clip ‖g‖ ≤ 5; SGD momentum 0.9, L2 3e-4). Learning rates as defaultSearchConfig.

Prints one JSON line per method: {"method", "msPerStep" (median), "samples", "peakRssMB", ...}. Run each method in
its own process when the peak RSS matters (it is the process lifetime peak): bench/compare-torch does that.
  python3 bench/torch_supernet.py --method darts-1st --layers 5 --channels 8 --batch 16 --image-size 32
--check FILE loads our parameters, α/β and a batch (written by compare-torch --check) and prints our loss and α
gradients next to PyTorch's, to show the two networks are the same function.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

ALL_OPS = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect',
           'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5']
NO_NONE_OPS = ALL_OPS[1:]


def edge_count(nodes):
    return nodes * (nodes + 3) // 2


def edge_index(j, i):
    return j * (j + 3) // 2 + i


def bn(x):
    # search-time BN: affine=False, batch statistics (track_running_stats=False)
    return F.batch_norm(x, None, None, None, None, True, 0.0, 1e-5)


class Params:
    """Weights by our path names (nas/params.ts), in PyTorch layout; `kind` says how to convert ours (NHWC)."""

    def __init__(self, gen):
        self.gen = gen
        self.weights = {}
        self.kinds = {}

    def _uniform(self, shape, fan_in):
        b = 1.0 / math.sqrt(fan_in)
        return ((torch.rand(shape, generator=self.gen) * 2 - 1) * b).requires_grad_()

    def conv(self, path, cin, cout, k):
        self.kinds[path] = 'conv'
        w = self.weights[path] = self._uniform((cout, cin, k, k), cin * k * k)
        return w

    def pointwise(self, path, cin, cout):
        self.kinds[path] = 'pointwise'
        w = self.weights[path] = self._uniform((cout, cin, 1, 1), cin)
        return w

    def depthwise(self, path, c, k):
        self.kinds[path] = 'depthwise'
        w = self.weights[path] = self._uniform((c, 1, k, k), k * k)
        return w

    def linear(self, path, cin, cout):
        self.kinds[path + '.weight'] = 'linear'
        self.kinds[path + '.bias'] = 'bias'
        w = self.weights[path + '.weight'] = self._uniform((cout, cin), cin)
        b = self.weights[path + '.bias'] = self._uniform((cout,), cin)
        return w, b

    def load(self, values):
        """values: path → tensor in our layout."""
        with torch.no_grad():
            for path, w in self.weights.items():
                v = values[path]
                kind = self.kinds[path]
                if kind == 'conv':          # [kh,kw,cin,cout] → [cout,cin,kh,kw]
                    v = v.permute(3, 2, 0, 1)
                elif kind == 'depthwise':   # [k,k,c,1] → [c,1,k,k]
                    v = v.permute(2, 3, 0, 1)
                elif kind == 'pointwise':   # [cin,cout] → [cout,cin,1,1]
                    v = v.t().reshape(w.shape)
                elif kind == 'linear':      # [cin,cout] → [cout,cin]
                    v = v.t()
                w.copy_(v.reshape(w.shape))


class ReLUConvBN:
    def __init__(self, P, path, cin, cout):
        self.w = P.pointwise(f'{path}.conv.weight', cin, cout)

    def __call__(self, x):
        return bn(F.conv2d(F.relu(x), self.w))


class FactorizedReduce:
    def __init__(self, P, path, cin, cout):
        assert cout % 2 == 0
        self.w1 = P.pointwise(f'{path}.conv_1.weight', cin, cout // 2)
        self.w2 = P.pointwise(f'{path}.conv_2.weight', cin, cout // 2)

    def __call__(self, x):
        r = F.relu(x)
        return bn(torch.cat([F.conv2d(r, self.w1, stride=2), F.conv2d(r[:, :, 1:, 1:], self.w2, stride=2)], dim=1))


class SepConv:
    def __init__(self, P, path, c, k, stride):
        self.c, self.k, self.s, self.p = c, k, stride, k // 2
        self.dw1 = P.depthwise(f'{path}.dw1.weight', c, k)
        self.pw1 = P.pointwise(f'{path}.pw1.weight', c, c)
        self.dw2 = P.depthwise(f'{path}.dw2.weight', c, k)
        self.pw2 = P.pointwise(f'{path}.pw2.weight', c, c)

    def __call__(self, x):
        h = F.conv2d(F.relu(x), self.dw1, stride=self.s, padding=self.p, groups=self.c)
        h = bn(F.conv2d(h, self.pw1))
        h = F.conv2d(F.relu(h), self.dw2, stride=1, padding=self.p, groups=self.c)
        return bn(F.conv2d(h, self.pw2))


class DilConv:
    def __init__(self, P, path, c, k, stride):
        self.c, self.s, self.p = c, stride, k - 1
        self.dw = P.depthwise(f'{path}.dw.weight', c, k)
        self.pw = P.pointwise(f'{path}.pw.weight', c, c)

    def __call__(self, x):
        h = F.conv2d(F.relu(x), self.dw, stride=self.s, padding=self.p, dilation=2, groups=self.c)
        return bn(F.conv2d(h, self.pw))


def build_op(P, name, path, c, stride):
    if name == 'none':
        return None
    if name == 'max_pool_3x3':
        return lambda x: bn(F.max_pool2d(x, 3, stride, 1))
    if name == 'avg_pool_3x3':
        return lambda x: bn(F.avg_pool2d(x, 3, stride, 1, count_include_pad=False))
    if name == 'skip_connect':
        return (lambda x: x) if stride == 1 else FactorizedReduce(P, f'{path}.fr', c, c)
    if name == 'sep_conv_3x3':
        return SepConv(P, path, c, 3, stride)
    if name == 'sep_conv_5x5':
        return SepConv(P, path, c, 5, stride)
    if name == 'dil_conv_3x3':
        return DilConv(P, path, c, 3, stride)
    if name == 'dil_conv_5x5':
        return DilConv(P, path, c, 5, stride)
    raise ValueError(name)


class SearchCell:
    def __init__(self, P, path, nodes, reduction, reduction_prev, cpp, cp, c, ops, sharing):
        self.nodes, self.reduction, self.ops, self.sharing = nodes, reduction, ops, sharing
        self.pre0 = FactorizedReduce(P, f'{path}.pre0', cpp, c) if reduction_prev else ReLUConvBN(P, f'{path}.pre0', cpp, c)
        self.pre1 = ReLUConvBN(P, f'{path}.pre1', cp, c)
        self.banks = []
        if sharing:
            for i in range(nodes + 1):
                s = 2 if reduction and i < 2 else 1
                self.banks.append([build_op(P, n, f'{path}.src{i}.{n}', c, s) for n in ops])
        else:
            for j in range(nodes):
                for i in range(j + 2):
                    s = 2 if reduction and i < 2 else 1
                    self.banks.append([build_op(P, n, f'{path}.edge{j + 2}_{i}.{n}', c, s) for n in ops])

    def op(self, j, i, k):
        return self.banks[i][k] if self.sharing else self.banks[edge_index(j, i)][k]

    def __call__(self, s0, s1, mode):
        states = [self.pre0(s0), self.pre1(s1)]
        cache = {}

        def ev(j, i, k):
            key = (i, k) if self.sharing else (j, i, k)
            if key not in cache:
                cache[key] = self.op(j, i, k)(states[i])
            return cache[key]

        for j in range(self.nodes):
            terms = []
            if mode['kind'] == 'derived':
                for k, i in mode['nodes'][j]:
                    terms.append(ev(j, i, k))
            else:
                w = mode['weights']
                active = mode.get('active')
                for i in range(j + 2):
                    e = edge_index(j, i)
                    for k, name in enumerate(self.ops):
                        if name == 'none' or (active is not None and not active[e][k]):
                            continue
                        terms.append(ev(j, i, k) * w[e, k])
            states.append(sum(terms[1:], terms[0]))
        return torch.cat(states[2:], dim=1)


class SearchNetwork:
    def __init__(self, P, C, layers, nodes, ops, num_classes, in_ch, stem_mult, sharing):
        self.reductions = [layers // 3, 2 * layers // 3]
        c_stem = stem_mult * C
        self.stem_w = P.conv('stem.conv.weight', in_ch, c_stem, 3)
        cpp, cp, cur, rprev = c_stem, c_stem, C, False
        self.cells = []
        for i in range(layers):
            red = i in self.reductions
            if red:
                cur *= 2
            self.cells.append(SearchCell(P, f'cells.{i}', nodes, red, rprev, cpp, cp, cur, ops, sharing))
            rprev = red
            cpp, cp = cp, nodes * cur
        self.cls_w, self.cls_b = P.linear('classifier', cp, num_classes)

    def __call__(self, x, mode_for):
        s0 = s1 = bn(F.conv2d(x, self.stem_w, padding=1))
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, mode_for(i, i in self.reductions))
        return F.linear(s1.mean(dim=(2, 3)), self.cls_w, self.cls_b)


# ---------------------------------------------------------------------------------------------------------------
# Methods (baselines/darts.ts, entrannas/entrannas.ts, entrannas/dst.ts)

def derive_top2(probs, ops, nodes):
    """DARTS rule (nas/derive.ts): per node the 2 edges with the largest non-none weight (stable), arg-max op each."""
    out = []
    for j in range(nodes):
        scored = []
        for i in range(j + 2):
            row = probs[edge_index(j, i)]
            best, bk = -1.0, -1
            for k, p in enumerate(row):
                if ops[k] != 'none' and p > best:
                    best, bk = p, k
            scored.append((i, best, bk))
        kept = sorted(scored, key=lambda t: -t[1])[:2]   # Python's sort is stable, as Array.prototype.sort
        out.append([(k, i) for i, _, k in kept])
    return out


class Method:
    def __init__(self, name, cfg, data_gen):
        self.name = name
        self.cfg = cfg
        entran = name in ('entrannas', 'entrannas-dst')
        self.ops = NO_NONE_OPS if entran else ALL_OPS
        self.nodes = 4
        self.P = Params(data_gen)
        self.net = SearchNetwork(self.P, cfg['channels'], cfg['layers'], self.nodes, self.ops, 10, 3, 3, sharing=entran)
        E = edge_count(self.nodes)
        self.alpha = {r: (torch.randn((E, len(self.ops)), generator=data_gen) * 1e-3).requires_grad_() for r in (False, True)}
        self.beta = {r: torch.zeros(self.nodes, requires_grad=True) for r in (False, True)} if name == 'entrannas-dst' else None
        self.weights = list(self.P.weights.values())
        self.arch = [self.alpha[False], self.alpha[True]] + ([self.beta[False], self.beta[True]] if self.beta else [])
        big = entran
        self.w_lr = 0.1 if big else 0.025
        a_lr = 6e-4 if big else 3e-4
        self.sgd = torch.optim.SGD(self.weights, lr=self.w_lr, momentum=0.9, weight_decay=3e-4)
        groups = [{'params': [self.alpha[False], self.alpha[True]], 'weight_decay': 1e-3}]
        if self.beta:
            groups.append({'params': [self.beta[False], self.beta[True]], 'weight_decay': 0.0})
        self.adam = torch.optim.Adam(groups, lr=a_lr, betas=(0.5, 0.999))
        red = self.net.reductions
        self.engine = {next(i for i in range(cfg['layers']) if i not in red), red[0]} if entran else None
        self.current = self.derive() if entran else None

    def probs(self, r):
        return torch.softmax(self.alpha[r].detach(), dim=1).tolist()

    def dst_q(self, r):
        p = self.probs(r)
        t = torch.sigmoid(self.beta[r].detach()).tolist()
        q = [[0.0] * len(self.ops) for _ in p]
        for j in range(self.nodes):
            m = 0.0
            for i in range(j + 2):
                for k, v in enumerate(p[edge_index(j, i)]):
                    if self.ops[k] != 'none' and v > m:
                        m = v
            for i in range(j + 2):
                e = edge_index(j, i)
                for k, v in enumerate(p[e]):
                    if self.ops[k] != 'none':
                        q[e][k] = max(0.0, v / m - t[j])
        return q

    def derive(self):
        out = {}
        for r in (False, True):
            if self.name == 'entrannas-dst':
                q = self.dst_q(r)
                out[r] = [[(k, i) for i in range(j + 2) for k in range(len(self.ops)) if q[edge_index(j, i)][k] > 0]
                          for j in range(self.nodes)]
            else:
                out[r] = derive_top2(self.probs(r), self.ops, self.nodes)
        return out

    def qhat(self, r):
        mask = torch.tensor([0.0 if o == 'none' else 1.0 for o in self.ops])
        p = torch.softmax(self.alpha[r], dim=1) * mask
        t = torch.sigmoid(self.beta[r])
        parts = []
        for j in range(self.nodes):
            rows = p[edge_index(j, 0):edge_index(j, 0) + j + 2]
            parts.append(F.relu(rows / rows.max() - t[j]))
        q = torch.cat(parts, 0)
        return q / torch.clamp(q.sum(1, keepdim=True), min=1e-12)

    def modes(self):
        cache = {}

        def mixed(r):
            if r not in cache:
                if self.name == 'entrannas-dst':
                    active = [[v > 0 for v in row] for row in self.dst_q(r)]
                    cache[r] = {'kind': 'mixed', 'weights': self.qhat(r), 'active': active}
                else:
                    cache[r] = {'kind': 'mixed', 'weights': torch.softmax(self.alpha[r], dim=1)}
            return cache[r]

        if self.engine is None:
            return lambda i, r: mixed(r)
        return lambda i, r: mixed(r) if i in self.engine else {'kind': 'derived', 'nodes': self.current[r]}

    def loss(self, x, y):
        return F.cross_entropy(self.net(x, self.modes()), y)

    def grads(self, x, y, params, micro_batch=0):
        """Gradients of the mean loss; with micro_batch, accumulated over chunks (as nas/search.ts gradients())."""
        n = x.shape[0]
        size = micro_batch if 0 < micro_batch < n else n
        total, acc = 0.0, [None] * len(params)
        for s in range(0, n, size):
            xs, ys = x[s:s + size], y[s:s + size]
            loss = self.loss(xs, ys) * (xs.shape[0] / n)
            gs = torch.autograd.grad(loss, params, allow_unused=True)
            acc = [g if a is None else (a if g is None else a + g) for a, g in zip(acc, gs)]
            total += loss.item()
        return total, acc

    def arch_step(self, x, y, micro_batch=0):
        loss, grads = self.grads(x, y, self.arch, micro_batch)
        for p, g in zip(self.arch, grads):
            p.grad = g
        torch.nn.utils.clip_grad_norm_([p for p in self.arch if p.grad is not None], 10.0)
        self.adam.step()
        if self.current is not None:
            self.current = self.derive()
        return loss

    def weight_step(self, x, y, micro_batch=0):
        loss, grads = self.grads(x, y, self.weights, micro_batch)
        for p, g in zip(self.weights, grads):
            p.grad = g
        torch.nn.utils.clip_grad_norm_([p for p in self.weights if p.grad is not None], 5.0)
        self.sgd.step()
        return loss

    def load_state(self, ours):
        """Our parameters, α and β by path (our layouts)."""
        self.P.load(ours)
        with torch.no_grad():
            self.alpha[False].copy_(ours['alpha.normal'])
            self.alpha[True].copy_(ours['alpha.reduce'])
            if self.beta:
                self.beta[False].copy_(ours['beta.normal'])
                self.beta[True].copy_(ours['beta.reduce'])
        if self.current is not None:
            self.current = self.derive()


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # Linux: KiB


def read_state(path):
    """compare-torch --check writes <path>.json ({name: {shape, offset}}, offsets in floats) and <path>.bin (f32 LE)."""
    with open(path + '.json') as f:
        index = json.load(f)
    raw = torch.from_numpy(__import__('numpy').fromfile(path + '.bin', dtype='<f4'))
    return {k: raw[v['offset']:v['offset'] + math.prod(v['shape'])].reshape(v['shape']).clone() for k, v in index['tensors'].items()}, index


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--method', default='darts-1st', help='darts-1st, entrannas, entrannas-dst (comma-separated list)')
    ap.add_argument('--layers', type=int, default=5)
    ap.add_argument('--channels', type=int, default=8)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--image-size', type=int, default=32)
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--micro-batch', type=int, default=0, help='split each batch into chunks of this size, gradients accumulated (0: off)')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--state', help='start from our parameters/α/β (compare-torch writes <state>.json/.bin)')
    ap.add_argument('--check', help='compare our loss and α gradients on our batch (compare-torch --check writes it)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for method in a.method.split(','):
        gen = torch.Generator().manual_seed(a.seed)
        cfg = {'layers': a.layers, 'channels': a.channels}
        m = Method(method, cfg, gen)
        if a.check:
            ours, index = read_state(a.check)
            m.load_state(ours)
            x = ours['batch.x'].permute(0, 3, 1, 2).contiguous()
            y = ours['batch.y'].long()
            loss = m.loss(x, y)
            grads = torch.autograd.grad(loss, m.arch, allow_unused=True)
            names = ['alpha.normal', 'alpha.reduce', 'beta.normal', 'beta.reduce'][:len(m.arch)]
            worst = 0.0
            for n, g in zip(names, grads):
                ref = ours[f'grad.{n}']
                scale = max(1e-6, ref.abs().max().item())
                worst = max(worst, ((g if g is not None else torch.zeros_like(ref)) - ref).abs().max().item() / scale)
            print(json.dumps({'method': method, 'check': True, 'lossOurs': index['loss'], 'lossTorch': loss.item(),
                              'archGradWorstRelDiff': worst}), flush=True)
            continue
        if a.state:
            ours, _ = read_state(a.state)
            m.load_state(ours)
        shape = (a.batch, 3, a.image_size, a.image_size)
        train = (torch.randn(shape, generator=gen), torch.arange(a.batch) % 10)
        val = (torch.randn(shape, generator=gen), torch.arange(a.batch) % 10)
        samples, warm = [], []
        for s in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            m.arch_step(*val, a.micro_batch)
            m.weight_step(*train, a.micro_batch)
            ms = (time.perf_counter() - t0) * 1000
            (warm if s < a.warmup else samples).append(ms)
        print(json.dumps({
            'method': method, 'engine': f'pytorch {torch.__version__} cpu', 'threads': torch.get_num_threads(),
            'msPerStep': statistics.median(samples), 'samples': samples, 'warmupSamples': warm,
            'peakRssMB': peak_rss_mb(), 'params': sum(p.numel() for p in m.weights),
            'config': {'layers': a.layers, 'channels': a.channels, 'batch': a.batch, 'imageSize': a.image_size,
                       'microBatch': a.micro_batch},
        }), flush=True)


if __name__ == '__main__':
    sys.exit(main())
