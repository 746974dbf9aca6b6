import type { DocumentNode, GraphQLError, GraphQLOutputType } from 'graphql';
import { graphqlLibrary } from './library.js';

/** A GraphQL name: what a namespace with a type must be called, as it names a subscription field. */
export const graphqlNamePattern = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** What a namespace's graphqlType may define: object types (the first is the data's), enums and scalars. */
const allowedKinds = new Set<string>(['ObjectTypeDefinition', 'EnumTypeDefinition', 'ScalarTypeDefinition']);

/** The parsed SDL of a namespace's graphqlType and the name of its data type (the first definition). */
export interface TypeDefinition {
  document: DocumentNode;
  dataType: string;
}

/** Reads a graphqlType setting: '' (untyped) or SDL whose first definition is an object type. */
export function readTypeDefinition(sdl: string): TypeDefinition {
  const { parse, Kind } = graphqlLibrary();
  let document: DocumentNode;
  try {
    document = parse(sdl, { noLocation: true });
  } catch (err) {
    throw new Error(`not valid GraphQL SDL: ${(err as GraphQLError).message}`);
  }
  const [first] = document.definitions;
  if (first?.kind !== Kind.OBJECT_TYPE_DEFINITION) throw new Error('the first definition must be an object type: the type of the data');
  const other = document.definitions.find((d) => !allowedKinds.has(d.kind));
  if (other) throw new Error(`only object types, enums and scalars may be defined, not ${other.kind}`);
  return { document, dataType: first.name.value };
}

/** Config parser of channels.namespaces.X.graphqlType. */
export function parseGraphqlTypeDefinition(value: unknown): string {
  if (typeof value !== 'string') throw new Error('expected GraphQL SDL text');
  if (value.trim() !== '') readTypeDefinition(value);
  return value;
}

const int32 = 2 ** 31;

function scalarMatches(name: string, value: unknown): boolean {
  switch (name) {
    case 'String':
      return typeof value === 'string';
    case 'Int':
      return Number.isInteger(value) && (value as number) >= -int32 && (value as number) < int32;
    case 'Float':
      return typeof value === 'number' && Number.isFinite(value);
    case 'Boolean':
      return typeof value === 'boolean';
    case 'ID':
      return typeof value === 'string' || Number.isInteger(value);
    default:
      // JSON and scalars a namespace defines take any value.
      return true;
  }
}

/**
 * Whether published data conforms to a namespace's type: every field of the type has a value of
 * its type (non-null ones present), strictly (no coercion of "5" to 5). Fields the type does not
 * name are ignored, as a GraphQL client can never select them.
 */
export function matchesType(value: unknown, type: GraphQLOutputType): boolean {
  const { isEnumType, isListType, isNonNullType, isObjectType, isScalarType } = graphqlLibrary();
  if (isNonNullType(type)) return value !== null && value !== undefined && matchesType(value, type.ofType);
  if (value === null || value === undefined) return true;
  if (isListType(type)) return Array.isArray(value) && value.every((item) => matchesType(item, type.ofType));
  if (isScalarType(type)) return scalarMatches(type.name, value);
  if (isEnumType(type)) return typeof value === 'string' && type.getValue(value) !== undefined;
  if (isObjectType(type)) {
    if (typeof value !== 'object' || Array.isArray(value)) return false;
    const record = value as Record<string, unknown>;
    return Object.values(type.getFields()).every((field) => matchesType(Object.hasOwn(record, field.name) ? record[field.name] : undefined, field.type));
  }
  return false;
}
