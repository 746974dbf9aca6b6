import type { DocumentNode } from 'graphql';

/**
 * Parsed and validated documents by their query text. Clients send the same few operations over
 * and over (every subscriber of a page, every reconnect), and validation walks the whole document
 * once per rule; a document that passed once against the node's schema passes again. Bounded: the
 * least recently used entry goes first.
 */
export class ValidatedDocuments {
  private readonly documents = new Map<string, DocumentNode>();

  constructor(private readonly capacity: number) {}

  get(query: string): DocumentNode | undefined {
    const document = this.documents.get(query);
    if (document) {
      this.documents.delete(query);
      this.documents.set(query, document);
    }
    return document;
  }

  add(query: string, document: DocumentNode): void {
    this.documents.set(query, document);
    if (this.documents.size > this.capacity) this.documents.delete(this.documents.keys().next().value!);
  }
}
