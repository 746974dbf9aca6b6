import type { DocumentNode } from 'graphql';
import { LRUCache } from 'lru-cache';

/**
 * Parsed and validated documents by their query text. Clients send the same few operations over
 * and over (every subscriber of a page, every reconnect), and validation walks the whole document
 * once per rule; a document that passed once against the node's schema passes again. Bounded: the
 * least recently used entry goes first.
 */
export class ValidatedDocuments extends LRUCache<string, DocumentNode> {
  constructor(capacity: number) {
    super({ max: capacity });
  }
}
