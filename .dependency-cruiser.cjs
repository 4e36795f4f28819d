/**
 * The layers of Shoal and the one direction of dependency between them (docs/architecture.md):
 * domain ← ports ← adapters ← functions / local / infra, and a client that shares only the common
 * pieces (schemas, route table, limits, errors, partitioner) with the service. `npm run lint` fails
 * on a cycle or a dependency against these rules.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle makes two modules one: give the shared piece a home of its own.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'shared/domain is pure logic: no AWS SDK, no adapter, no HTTP, no entry point.',
      from: { path: '^shared/domain/' },
      to: {
        path: [
          '^node_modules/@aws-sdk/',
          '^shared/adapters/',
          '^shared/http/',
          '^functions/',
          '^local/',
          '^infra/',
        ],
      },
    },
    {
      name: 'ports-are-interfaces',
      severity: 'error',
      comment: 'shared/ports declares what the domain needs; it knows no adapter.',
      from: { path: '^shared/ports/' },
      to: { path: ['^shared/adapters/', '^node_modules/@aws-sdk/', '^shared/http/'] },
    },
    {
      name: 'edge-asks-the-domain',
      severity: 'error',
      comment: 'The HTTP edge maps domain errors; adapters translate their own errors below it.',
      from: { path: '^shared/http/' },
      to: { path: ['^shared/adapters/', '^node_modules/@aws-sdk/'] },
    },
    {
      name: 'service-not-from-client',
      severity: 'error',
      comment: 'The service never imports the client or the CLI (they are a separate package).',
      from: { path: '^(shared|functions|local|infra)/' },
      to: { path: '^(client|cli)/' },
    },
    {
      name: 'client-not-into-the-service',
      severity: 'error',
      comment: 'The client shares schemas, limits and the partitioner, never adapters or entry points.',
      from: { path: '^(client|cli)/' },
      to: {
        path: [
          '^shared/adapters/',
          '^functions/',
          '^local/',
          '^infra/',
          '^shared/(services|runtime|subscription-services)\\.ts$',
        ],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|cdk\\.out|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
