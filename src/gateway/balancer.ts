import type { BalanceKind } from '../config/gateway.js';
import type { Upstream } from './upstreams.js';

/** FNV-1a, 32 bits, with MurmurHash3's finalizer so that similar strings land far apart: ring points and keys. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Ring points per unit of weight: enough for an even spread over a handful of instances. */
const POINTS_PER_WEIGHT = 100;

/**
 * Chooses an instance for a request among the candidates (available, not yet tried). One balancer
 * per route, so each route's rotation is its own.
 */
export class Balancer {
  /** Smooth weighted round robin: each instance's running score. */
  private readonly current = new Map<string, number>();
  private turn = 0;
  private ring: { points: Uint32Array; owners: string[]; signature: string } | undefined;

  constructor(readonly kind: BalanceKind) {}

  /**
   * `all` is every live instance of the service (the ring is built from them, so ejecting one
   * does not move the keys of the others); `hashKey` is the route's header or cookie value.
   */
  pick(candidates: Upstream[], all: Upstream[], hashKey: string | undefined): Upstream | undefined {
    if (candidates.length <= 1) return candidates[0];
    if (this.kind === 'hash' && hashKey !== undefined) return this.byHash(candidates, all, hashKey);
    if (this.kind === 'least_request') return this.leastRequest(candidates);
    return this.roundRobin(candidates);
  }

  private roundRobin(candidates: Upstream[]): Upstream {
    let total = 0;
    let best: Upstream | undefined;
    let bestScore = -Infinity;
    for (const up of candidates) {
      const weight = up.instance.weight;
      const score = (this.current.get(up.key) ?? 0) + weight;
      this.current.set(up.key, score);
      total += weight;
      if (score > bestScore) {
        bestScore = score;
        best = up;
      }
    }
    this.current.set(best!.key, bestScore - total);
    if (this.current.size > candidates.length * 4) this.current.clear();
    return best!;
  }

  /** Fewest requests in flight per unit of weight; ties go round the candidates in turn. */
  private leastRequest(candidates: Upstream[]): Upstream {
    this.turn = (this.turn + 1) % candidates.length;
    let best = candidates[this.turn]!;
    let bestLoad = (best.outstanding + 1) / best.instance.weight;
    for (let i = 1; i < candidates.length; i++) {
      const up = candidates[(this.turn + i) % candidates.length]!;
      const load = (up.outstanding + 1) / up.instance.weight;
      if (load < bestLoad) {
        best = up;
        bestLoad = load;
      }
    }
    return best;
  }

  /** Consistent hashing: the first ring point at or after the key's hash whose instance is a candidate. */
  private byHash(candidates: Upstream[], all: Upstream[], hashKey: string): Upstream {
    const ring = this.ringOf(all);
    const allowed = new Map(candidates.map((up) => [up.key, up]));
    const h = hash32(hashKey);
    let lo = 0;
    let hi = ring.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring.points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    for (let i = 0; i < ring.points.length; i++) {
      const found = allowed.get(ring.owners[(lo + i) % ring.points.length]!);
      if (found) return found;
    }
    return candidates[0]!;
  }

  private ringOf(all: Upstream[]): { points: Uint32Array; owners: string[] } {
    const signature = all
      .map((up) => `${up.key}*${up.instance.weight}`)
      .sort()
      .join(',');
    if (this.ring?.signature === signature) return this.ring;
    const entries: [number, string][] = [];
    for (const up of all) {
      for (let i = 0; i < up.instance.weight * POINTS_PER_WEIGHT; i++) entries.push([hash32(`${up.key}#${i}`), up.key]);
    }
    entries.sort((a, b) => a[0] - b[0]);
    this.ring = { points: Uint32Array.from(entries.map((e) => e[0])), owners: entries.map((e) => e[1]), signature };
    return this.ring;
  }
}
