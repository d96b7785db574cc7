export {
  createTestSchema,
  type StartTestPostgresOptions,
  startTestPostgres,
  type TestPostgres,
  withClient,
} from "./postgres-test-server.js";
