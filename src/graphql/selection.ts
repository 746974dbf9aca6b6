import { Kind, executeSync, visit, type DocumentNode, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import type { Publication } from '../brokers/broker.js';

/**
 * What decides the result of a subscription event: the operation, its fragments and the
 * variables used inside the subscription field's selection. Variables of the field's own
 * arguments (name, since) only choose the stream, so subscribers that differ only in them share
 * one selection, and each publication is executed once for all of them.
 */
export class Selection {
  readonly key: string;
  private readonly document: DocumentNode;
  private readonly variables: Record<string, unknown>;

  constructor(
    private readonly schema: GraphQLSchema,
    info: GraphQLResolveInfo,
    query: string,
  ) {
    this.document = { kind: Kind.DOCUMENT, definitions: [info.operation, ...Object.values(info.fragments)] };
    const used = new Set<string>();
    const collect = { Variable: (node: { name: { value: string } }) => void used.add(node.name.value) };
    for (const field of info.fieldNodes) if (field.selectionSet) visit(field.selectionSet, collect);
    for (const fragment of Object.values(info.fragments)) visit(fragment, collect);
    // All of them are needed to execute (required ones must be given); the key holds those that matter.
    this.variables = info.variableValues;
    const selected = Object.fromEntries([...used].map((name) => [name, info.variableValues[name]]));
    this.key = `${JSON.stringify(selected)}\n${info.operation.name?.value ?? ''}\n${query}`;
  }

  /** The event's result as graphql-js executes it with the publication as the root value. */
  execute(pub: Publication): unknown {
    return executeSync({ schema: this.schema, document: this.document, rootValue: pub, variableValues: this.variables });
  }
}

/** One publication's result for one selection, serialised once and shared by every operation of that selection. */
export interface EncodedResult {
  /** The `payload` of a graphql-ws next message, and the data of a graphql-sse next event. */
  json: string;
  /** Bytes the transports build for the first subscriber and share with the next ones (see ResultFraming). */
  sseEvent?: Buffer;
  /** graphql-ws: the payload and the message's closing brace. */
  wsBody?: Buffer;
}

/** Results by publication and selection; a publication's entries go with it when it is collected. */
export class SelectionResults {
  private readonly byPublication = new WeakMap<Publication, Map<string, EncodedResult>>();
  /** Executions so far (switchboard_graphql_executions_total). */
  executions = 0;

  of(pub: Publication, selection: Selection): EncodedResult {
    let results = this.byPublication.get(pub);
    if (!results) this.byPublication.set(pub, (results = new Map()));
    let result = results.get(selection.key);
    if (!result) {
      this.executions += 1;
      result = { json: JSON.stringify(selection.execute(pub)) };
      results.set(selection.key, result);
    }
    return result;
  }
}
