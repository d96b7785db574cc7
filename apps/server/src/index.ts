export { BodyTooLargeError, UPLOAD_FORMATS, type UploadFormat } from "./batch-upload.js";
export {
  type HaloServer,
  type HaloServerOptions,
  isLoopbackHost,
  ServerConfigurationError,
  startHaloServer,
} from "./halo-server.js";
export type { RequestLimits } from "./server-app.js";
export { describeStoreUrl, openStore } from "./store/open-store.js";
export { PostgresStore } from "./store/postgres-store.js";
export type {
  BatchError,
  BatchJob,
  BatchStatus,
  OnlineQuery,
  ServerStore,
  StoredWorkflow,
} from "./store/server-store.js";
export { SqliteStore } from "./store/sqlite-store.js";
export type { BatchOptions, OnlineOptions } from "./work-scheduler.js";
export type { ToolProvider, WorkflowPreparer } from "./workflow-registry.js";
