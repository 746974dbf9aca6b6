/**
 * The layering of src/ (docs/architecture.md), checked by `npm run lint`. Type-only imports count:
 * a folder that names another's types depends on it as much as one that calls it.
 */
/**
 * The data path from the top down (transports -> sessions -> hub -> brokers), with the folders each
 * layer adds above the one below it: a layer imports nothing of any folder above it.
 */
const dataPath = [
  ['sessions', ['transports', 'api', 'admin', 'gateway', 'graphql']],
  ['hub', ['sessions']],
  ['brokers', ['hub', 'topics', 'routing']],
];

function dataPathRules() {
  const above = [];
  return dataPath.map(([layer, added]) => {
    above.push(...added);
    return { name: `${layer}-knows-no-upper-layer`, severity: 'error', from: { path: `^src/${layer}/` }, to: { path: `^src/(${above.join('|')})/` } };
  });
}

module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      severity: 'error',
      comment: 'Folders of src/ depend on each other in one direction only.',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'node-is-composition-only',
      severity: 'error',
      comment: 'node.ts builds the node; only the command line starts one.',
      from: { path: '^src/', pathNot: '^src/(cli|node)\\.ts$' },
      to: { path: '^src/node\\.ts$' },
    },
    {
      name: 'root-is-on-top',
      severity: 'error',
      comment: 'The files directly in src/ compose the node; nothing in a folder imports them.',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    ...dataPathRules(),
  ],
  options: {
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/client/|^src/api-client/' },
  },
};
