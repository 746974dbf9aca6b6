import { isMapping, parseBoolean, parseDuration, parseEnum, parseInteger, parseString, parseUrl, rejectUnknownKeys, httpSchemes } from '../values.js';
import type { Field, SchemaNode, SettingsOf } from '../field.js';
import { parseGraphqlTypeDefinition } from '../../graphql/sdl/typed-channels.js';
import { buildChannelTypes } from '../../graphql/sdl/channel-types.js';

/**
 * Who may do something on a channel of a namespace, from a client connection: anyone; any
 * authenticated user; users whose `claim` lists the channel; holders of a subscription token for
 * the channel (subscribe only); whoever the namespace's hook allows; nobody (server API only).
 */
export const accessLevels = ['public', 'authenticated', 'claim', 'token', 'hook', 'server'] as const;
export type AccessLevel = (typeof accessLevels)[number];

/** The options of channels.default, which every namespace may set. */
const namespaceFields = {
  subscribe: {
    parse: (v) => parseEnum(v, accessLevels),
    default: 'public',
    doc: 'who may subscribe from a client: public, authenticated, claim, token (a subscription token), hook or server (API only)',
  },
  publish: {
    parse: (v) => parseEnum(v, accessLevels),
    default: 'server',
    doc: 'who may publish from a client: public, authenticated, claim, hook or server (API only)',
  },
  presence: { parse: parseBoolean, default: false, doc: 'track members and send join/leave events' },
  historySize: {
    parse: (v) => parseInteger(v, 0, 1_000_000),
    default: 0,
    doc: 'publications kept per channel so clients can recover what they missed; 0 turns history off',
  },
  claim: { parse: parseString, default: 'channels', doc: 'claim listing the channels a user may use, for the claim level' },
  subscribeHook: { parse: (v) => parseUrl(v, httpSchemes), default: '', doc: 'URL asked before a client subscribes, for the hook level' },
  publishHook: { parse: (v) => parseUrl(v, httpSchemes), default: '', doc: 'URL asked before a client publishes; it may reject or rewrite the data (hook level)' },
  historyTtl: {
    parse: parseDuration,
    default: 300_000,
    doc: "how long a channel's history lives after its last publication; 0: for ever",
  },
} satisfies Record<string, Field>;

/** Options a named namespace may set but channels.default may not. */
const namespaceOnlyFields = {
  graphqlType: {
    parse: parseGraphqlTypeDefinition,
    default: '',
    doc: "GraphQL SDL of the data published on the namespace's channels: its first type is the data's type, further types and enums may follow (docs/graphql.md)",
  },
} satisfies Record<string, Field>;

/** A namespace's options: who may subscribe and publish, presence, history, and (named namespaces only) its GraphQL type. */
export type NamespaceOptions = SettingsOf<typeof namespaceFields> & Partial<SettingsOf<typeof namespaceOnlyFields>>;

const namespaceNamePattern = /^[A-Za-z0-9_-]{1,64}$/;

function parseNamespaces(value: unknown): Record<string, Partial<NamespaceOptions>> {
  if (!isMapping(value)) throw new Error('expected a map of namespace name to options');
  const fields: Record<string, Field> = { ...namespaceFields, ...namespaceOnlyFields };
  const result: Record<string, Partial<NamespaceOptions>> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (!namespaceNamePattern.test(name)) {
      throw new Error(`namespace name ${JSON.stringify(name)} must match ${namespaceNamePattern.source}`);
    }
    if (!isMapping(raw)) throw new Error(`namespace ${name}: expected an object of options`);
    rejectUnknownKeys(raw, Object.keys(fields), `namespace ${name}`);
    const options: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(fields)) {
      if (raw[key] === undefined) continue;
      try {
        options[key] = field.parse(raw[key]);
      } catch (err) {
        throw new Error(`namespace ${name}.${key}: ${(err as Error).message}`);
      }
    }
    result[name] = options as Partial<NamespaceOptions>;
  }
  // Typed namespaces become one GraphQL schema: names and types must fit together.
  if (Object.values(result).some((options) => options.graphqlType?.trim())) buildChannelTypes(result);
  return result;
}

/** Channel names, and who may do what on the channels of each namespace. */
export const channels = {
  maxNameLength: { parse: (v) => parseInteger(v, 1, 4096), default: 255, doc: 'longest channel name' },
  default: namespaceFields,
  namespaces: {
    parse: parseNamespaces,
    default: {},
    structured: true,
    doc: 'options per namespace (the part of a channel name before ":"); options a namespace leaves out come from channels.default',
  },
} satisfies SchemaNode;
