/** Reads the records of one bridge from its broker and hands each to the bridge, committing it only once delivered. */
export interface RecordSource {
  start(): Promise<void>;
  /** Stops reading; the record being delivered is finished or left uncommitted, so another node delivers it. */
  stop(): Promise<void>;
}
