// Nest 12 ships ES modules only: jest runs under --experimental-vm-modules and swc
// transforms our TypeScript and Nest's ESM files to CommonJS.
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'commonjs' },
  },
];
const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: { '^.+\\.(t|j)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|@apidevtools)/)'],
  testEnvironment: 'node',
  // Sources import siblings with .js suffixes (node20 resolution); jest resolves the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};
module.exports = {
  // Booting the app (PGlite initdb, every migration, Prisma's WASM compiler) takes a few
  // seconds per suite on an idle machine and several times that on a busy 2-core one.
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', rootDir: 'src', testRegex: '.*\\.spec\\.ts$' },
    { ...common, displayName: 'e2e', rootDir: 'test', testRegex: '.*\\.e2e-spec\\.ts$' },
    // Needs the real PostgreSQL and Redis (TEST_DATABASE_URL's server, TEST_REDIS_URL): `npm run test:integration`.
    { ...common, displayName: 'integration', rootDir: 'test/integration', testRegex: '.*\\.int-spec\\.ts$' },
    // Needs Debian's chromium at /usr/bin/chromium (.ci/run installs it): `npm run test:browser`.
    { ...common, displayName: 'browser', rootDir: 'test', testRegex: '.*\\.browser-spec\\.ts$' },
  ],
};
