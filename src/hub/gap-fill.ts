import { continuesFrom, type HistoryResult, type Publication, type StreamPosition } from '../brokers/broker.js';

/**
 * Where a live publication of a channel with history stands against the newest position sent to
 * its subscribers: already sent, the next one, or past a gap that must be read from history first.
 */
export type Arrival = 'sent' | 'next' | 'gap';

export function arrivalOf(position: StreamPosition, offset: number, epoch: string | undefined): Arrival {
  const same = epoch === position.epoch;
  if (same && offset <= position.offset) return 'sent';
  // The next one is offset + 1, or 1 when a new stream began (the old one expired or was lost).
  return offset > (same ? position.offset + 1 : 1) ? 'gap' : 'next';
}

/**
 * How the history read of a gap fill that started at `since` ends: history holds the gap, or a new
 * stream that history holds from its first publication (the subscribers go on with it, as when a
 * stream expired), or the gap is lost (not held, or history could not be read).
 */
export type FillOutcome = 'filled' | 'new_stream' | 'lost';

export function fillOutcome(since: StreamPosition, result: HistoryResult | undefined): FillOutcome {
  if (!result) return 'lost';
  const first = result.publications[0];
  if (result.position.epoch !== since.epoch && (first ? first.offset === 1 : result.position.offset === 0)) return 'new_stream';
  return continuesFrom(since, result) ? 'filled' : 'lost';
}

export interface CatchUp {
  /** With `since`: whether every publication after it is in `publications`. */
  recovered: boolean | undefined;
  /** The replay, then the publications held while joining that it does not already hold. */
  publications: Publication[];
  /** The offset of the last of them in the history's epoch. */
  top: number;
}

/**
 * What a session joining a channel with history must be sent before live publications: the
 * history read after `since` when it is whole, and those that arrived while it joined, each once.
 */
export function catchUp(history: HistoryResult, since: StreamPosition | undefined, held: Publication[]): CatchUp {
  const { position } = history;
  let recovered: boolean | undefined;
  let publications: Publication[] = [];
  let last = position.offset;
  if (since) {
    recovered = continuesFrom(since, history);
    if (recovered) {
      publications = history.publications;
      last = publications.length > 0 ? publications[publications.length - 1]!.offset! : since.offset;
    }
  }
  let top = last;
  for (const pub of held) {
    if (pub.epoch !== position.epoch || pub.offset! > last) {
      publications.push(pub);
      if (pub.epoch === position.epoch) top = Math.max(top, pub.offset!);
    }
  }
  return { recovered, publications, top };
}
