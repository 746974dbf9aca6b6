import { Kind, executeSync, visit, type DocumentNode, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import type { Publication } from '../brokers/broker.js';

/**
 * What decides the result of a subscription event: the operation, its fragments and the
 * variables used inside the subscription field's selection. Variables of the field's own
 * arguments (name, since) only choose the stream, so subscribers that differ only in them share
 * one selection, and each publication is executed once for all of them.
 */
export class Selection {
  /** Operations using it (see Selections). */
  users = 0;

  constructor(
    readonly key: string,
    private readonly schema: GraphQLSchema,
    private readonly document: DocumentNode,
    private readonly variables: Record<string, unknown>,
  ) {}

  /** The event's result as graphql-js executes it with the publication as the root value. */
  execute(pub: Publication): unknown {
    return executeSync({ schema: this.schema, document: this.document, rootValue: pub, variableValues: this.variables });
  }
}

/**
 * The selections of the running operations, one instance per key: operations that share a
 * selection share the object, so the fan-out tells them apart by identity.
 */
export class Selections {
  private readonly byKey = new Map<string, Selection>();

  constructor(private readonly schema: GraphQLSchema) {}

  /** The selection of a subscription field, shared with the operations of the same key; release it when the operation ends. */
  acquire(info: GraphQLResolveInfo, query: string): Selection {
    const used = new Set<string>();
    const collect = { Variable: (node: { name: { value: string } }) => void used.add(node.name.value) };
    for (const field of info.fieldNodes) if (field.selectionSet) visit(field.selectionSet, collect);
    for (const fragment of Object.values(info.fragments)) visit(fragment, collect);
    const selected = Object.fromEntries([...used].map((name) => [name, info.variableValues[name]]));
    const key = `${JSON.stringify(selected)}\n${info.operation.name?.value ?? ''}\n${query}`;
    let selection = this.byKey.get(key);
    if (!selection) {
      const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [info.operation, ...Object.values(info.fragments)] };
      // All the variables are needed to execute (required ones must be given); the key holds those that matter.
      selection = new Selection(key, this.schema, document, info.variableValues);
      this.byKey.set(key, selection);
    }
    selection.users += 1;
    return selection;
  }

  release(selection: Selection): void {
    selection.users -= 1;
    if (selection.users === 0) this.byKey.delete(selection.key);
  }
}

/** One publication's result for one selection, serialised once and shared by every operation of that selection. */
export interface EncodedResult {
  /** The `payload` of a graphql-ws next message, and the data of a graphql-sse next event. */
  json: string;
  /** Bytes the transports build for the first subscriber and share with the next ones (see ResultFraming). */
  sseEvent?: Buffer;
  /** graphql-ws: a next message up to its id, framed, by the length of the id part that follows. */
  wsHeads?: Buffer[];
}

/** Results by publication and selection; a publication's entries go with it when it is collected. */
export class SelectionResults {
  private readonly byPublication = new WeakMap<Publication, Map<Selection, EncodedResult>>();
  /** Executions so far (switchboard_graphql_executions_total). */
  executions = 0;

  of(pub: Publication, selection: Selection): EncodedResult {
    let results = this.byPublication.get(pub);
    if (!results) this.byPublication.set(pub, (results = new Map()));
    let result = results.get(selection);
    if (!result) {
      this.executions += 1;
      result = { json: JSON.stringify(selection.execute(pub)) };
      results.set(selection, result);
    }
    return result;
  }
}
