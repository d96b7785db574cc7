export { BUILTIN_PROFILES, H100_SIMULATED_PROFILE } from "./builtin-profiles.js";
export { type DeriveModelOptions, deriveModelProfile, parameterCountFromName } from "./derive-profile.js";
export type {
  DecodeCost,
  DecodeTable,
  DeviceCapabilities,
  DeviceProfile,
  ModelProfile,
  PrefillCost,
} from "./device-profile.js";
export {
  DecodeCostSchema,
  DecodeTableSchema,
  DeviceCapabilitiesSchema,
  DeviceProfileSchema,
  decodeMs,
  decodeProfileFor,
  decodeStepMs,
  kvTransferMs,
  ModelProfileSchema,
  PROFILE_VERSION,
  PrefillCostSchema,
  ProfileValidationError,
  parseDeviceProfile,
  prefillMs,
  tableStepMs,
} from "./device-profile.js";
export {
  engineMemoryBytes,
  GROUND_TRUTH_DEVICE_IDS,
  GROUND_TRUTH_VERSION,
  type GroundTruthDevice,
  type GroundTruthModel,
  groundTruthDevice,
  kvCapacityTokens,
  maxResidentSequences,
  type StepWork,
  truthStepMs,
  truthTransferMs,
  UnknownGroundTruthDeviceError,
  weightBytesRead,
} from "./ground-truth.js";
export {
  isKnownWeightFormat,
  weightBytesPerParameter,
  weightBytesPerParameterFromName,
} from "./weight-format.js";
