import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  BUILTIN_PROFILES,
  type DeviceProfile,
  ProfileValidationError,
  parseDeviceProfile,
} from "@halo/profiles";
import { InvalidInputError } from "../cli-error.js";

/** A built-in profile (`builtin:h100`) or a device profile JSON file (relative to `base`); bad ones name `flag`. */
export async function loadProfileReference(
  reference: string,
  flag: string,
  base: string,
): Promise<DeviceProfile> {
  if (reference.startsWith("builtin:")) {
    const profile = BUILTIN_PROFILES[reference];
    if (!profile) {
      throw new InvalidInputError(
        `${flag}: unknown built-in profile "${reference}" (known: ${Object.keys(BUILTIN_PROFILES).join(", ")})`,
      );
    }
    return profile;
  }
  let text: string;
  try {
    text = await readFile(resolve(base, reference), "utf8");
  } catch (error) {
    throw new InvalidInputError(`${flag}: cannot read profile ${reference}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${flag}: profile ${reference} is not JSON: ${(error as Error).message}`);
  }
  try {
    return parseDeviceProfile(value, reference);
  } catch (error) {
    if (error instanceof ProfileValidationError) throw new InvalidInputError(`${flag}: ${error.message}`);
    throw error;
  }
}
