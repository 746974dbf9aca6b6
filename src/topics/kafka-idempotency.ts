import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyedLog } from '../kafka/keyed-log.js';
import type { AppendResult } from './store.js';

/** The winner of an idempotency key; `position` is written once its message is stored. */
export interface IdempotencyClaim {
  id: string;
  position?: string;
}

/** How long a duplicate waits for the first publisher of its key to finish storing the message. */
const CLAIM_WAIT_MS = 5000;

/** The first message stored under an idempotency key, once its publisher (on any node) has stored it. */
export async function duplicateOf(claims: KeyedLog<IdempotencyClaim>, claimKey: string): Promise<AppendResult> {
  const deadline = Date.now() + CLAIM_WAIT_MS;
  for (;;) {
    const claim = claims.get(claimKey)?.value;
    if (claim?.position) return { id: claim.id, position: claim.position, duplicate: true };
    if (Date.now() >= deadline) throw new Error(`the first publisher of idempotency key ${claimKey} did not finish storing its message`);
    await sleep(20);
  }
}
