import type { GraphQLObjectType } from 'graphql';
import type { Publication } from '../brokers/broker.js';
import type { DeferredBytes, Session } from '../sessions/session.js';
import type { Selection } from './selection.js';

/** The batch a transport keeps per operation to queue its messages of a turn on the session (graphql-ws). */
export interface OperationMessages extends DeferredBytes {
  /** The operation's own end of each message. */
  readonly tail: Buffer;
  /** Adds a message's shared part; true when it is the batch's first, which the session must queue. */
  add(head: Buffer): boolean;
}

/**
 * One running subscription operation: the async iterable graphql-ws and graphql-sse wait on. It
 * yields nothing: its events are queued on the session directly by the fan-out (one execution per
 * publication and selection, see SelectionResults); it only ends, when the client completes it, the
 * connection closes, or the server ends it.
 */
export class Operation implements AsyncIterableIterator<never> {
  /** Where the operation sits in its channel's list of operations (see GraphqlChannels). */
  slot = -1;
  /** The id as JSON text, ready for the messages' framing. */
  readonly idJson: string;
  /** The transport's batch of this operation's messages of the turn (graphql-ws), made once. */
  messages: OperationMessages | undefined;
  /** Set while the operation recovers from `since`: live publications wait here until the replay is queued. */
  buffer: Publication[] | undefined;
  /** The position of the last publication queued for it (channels with history), in two fields to allocate nothing per publication: older ones are not sent again. */
  lastOffset = -1;
  lastEpoch: string | undefined;
  private ended = false;
  private waiting: ((result: IteratorResult<never>) => void) | undefined;

  constructor(
    readonly id: string,
    readonly session: Session,
    readonly channel: string,
    readonly selection: Selection,
    /** The namespace's data type, for an operation on a typed namespace's own field. */
    readonly dataType: GraphQLObjectType | undefined,
    /** Called once when the operation ends, whoever ends it. */
    private readonly onEnd: (op: Operation) => void,
  ) {
    this.idJson = JSON.stringify(id);
  }

  /** Marks the stream as queued up to this position. */
  sent(offset: number, epoch: string): void {
    this.lastOffset = offset;
    this.lastEpoch = epoch;
  }

  /** Ends the operation; its iterable completes. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
    this.waiting?.({ done: true, value: undefined });
    this.waiting = undefined;
  }

  next(): Promise<IteratorResult<never>> {
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<never>> {
    this.end();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<never> {
    return this;
  }
}
