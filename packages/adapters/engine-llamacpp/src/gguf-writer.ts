import { type FileHandle, open } from "node:fs/promises";

/** ggml tensor types the synthesizer writes, with their on-disk type ids. */
export const ggmlTypeIds = { f32: 0, f16: 1, q8_0: 8 } as const;
export type GgmlTensorType = keyof typeof ggmlTypeIds;

/** Elements per block and bytes per block of each tensor type. */
const blockLayouts: Record<GgmlTensorType, { readonly elements: number; readonly bytes: number }> = {
  f32: { elements: 1, bytes: 4 },
  f16: { elements: 1, bytes: 2 },
  // q8_0: an f16 scale followed by 32 signed bytes.
  q8_0: { elements: 32, bytes: 34 },
};

/** A typed GGUF metadata value. */
export type GgufMetadataValue =
  | { readonly type: "uint32"; readonly value: number }
  | { readonly type: "int32"; readonly value: number }
  | { readonly type: "float32"; readonly value: number }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "string-array"; readonly value: readonly string[] }
  | { readonly type: "float32-array"; readonly value: ArrayLike<number> }
  | { readonly type: "int32-array"; readonly value: ArrayLike<number> };

/** One tensor of a GGUF file. */
export interface GgufTensor {
  readonly name: string;
  /** Dimensions innermost first (`ne0` is the contiguous one), as GGUF stores them. */
  readonly dimensions: readonly number[];
  readonly type: GgmlTensorType;
  /** Produces the bytes when the writer reaches this tensor, so a big model is never whole in memory. */
  readonly produceData: () => Uint8Array;
}

/** Everything a GGUF v3 file holds. */
export interface GgufContent {
  readonly metadata: readonly (readonly [key: string, value: GgufMetadataValue])[];
  readonly tensors: readonly GgufTensor[];
  /** Data alignment in bytes; also written as `general.alignment`. */
  readonly alignment?: number;
}

const valueTypeIds = {
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
} as const;

/** Bytes a tensor of `type` with these dimensions occupies. */
export function tensorByteLength(type: GgmlTensorType, dimensions: readonly number[]): number {
  const layout = blockLayouts[type];
  const elements = dimensions.reduce((product, dimension) => product * dimension, 1);
  const innermost = dimensions[0] ?? 1;
  if (innermost % layout.elements !== 0) {
    throw new Error(`a ${type} tensor needs its first dimension to be a multiple of ${layout.elements}`);
  }
  return (elements / layout.elements) * layout.bytes;
}

/** Grows a byte buffer for the header, metadata and tensor infos. */
class ByteBuilder {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const grown = Buffer.alloc(size);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  uint32(value: number): void {
    this.reserve(4);
    this.buffer.writeUInt32LE(value, this.length);
    this.length += 4;
  }

  int32(value: number): void {
    this.reserve(4);
    this.buffer.writeInt32LE(value, this.length);
    this.length += 4;
  }

  uint64(value: number): void {
    this.reserve(8);
    this.buffer.writeBigUInt64LE(BigInt(value), this.length);
    this.length += 8;
  }

  float32(value: number): void {
    this.reserve(4);
    this.buffer.writeFloatLE(value, this.length);
    this.length += 4;
  }

  uint8(value: number): void {
    this.reserve(1);
    this.buffer[this.length] = value;
    this.length += 1;
  }

  string(value: string): void {
    const bytes = Buffer.from(value, "utf8");
    this.uint64(bytes.length);
    this.reserve(bytes.length);
    bytes.copy(this.buffer, this.length);
    this.length += bytes.length;
  }

  padTo(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    this.reserve(padding);
    this.buffer.fill(0, this.length, this.length + padding);
    this.length += padding;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

function writeMetadataValue(builder: ByteBuilder, value: GgufMetadataValue): void {
  switch (value.type) {
    case "uint32":
      builder.uint32(valueTypeIds.uint32);
      builder.uint32(value.value);
      return;
    case "int32":
      builder.uint32(valueTypeIds.int32);
      builder.int32(value.value);
      return;
    case "float32":
      builder.uint32(valueTypeIds.float32);
      builder.float32(value.value);
      return;
    case "bool":
      builder.uint32(valueTypeIds.bool);
      builder.uint8(value.value ? 1 : 0);
      return;
    case "string":
      builder.uint32(valueTypeIds.string);
      builder.string(value.value);
      return;
    case "string-array":
      builder.uint32(valueTypeIds.array);
      builder.uint32(valueTypeIds.string);
      builder.uint64(value.value.length);
      for (const item of value.value) builder.string(item);
      return;
    case "float32-array":
      builder.uint32(valueTypeIds.array);
      builder.uint32(valueTypeIds.float32);
      builder.uint64(value.value.length);
      for (let index = 0; index < value.value.length; index += 1) builder.float32(value.value[index]!);
      return;
    case "int32-array":
      builder.uint32(valueTypeIds.array);
      builder.uint32(valueTypeIds.int32);
      builder.uint64(value.value.length);
      for (let index = 0; index < value.value.length; index += 1) builder.int32(value.value[index]!);
      return;
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const result = await handle.write(bytes, written, bytes.length - written);
    written += result.bytesWritten;
  }
}

/**
 * Writes a GGUF v3 file: header, metadata, tensor infos, then each tensor's data
 * aligned to `alignment`. Resolves to the file size in bytes.
 */
export async function writeGguf(filePath: string, content: GgufContent): Promise<number> {
  const alignment = content.alignment ?? 32;
  const metadata: (readonly [string, GgufMetadataValue])[] = [
    ...content.metadata,
    ["general.alignment", { type: "uint32", value: alignment }],
  ];
  const header = new ByteBuilder();
  header.uint32(0x46554747); // "GGUF" read as a little-endian uint32
  header.uint32(3);
  header.uint64(content.tensors.length);
  header.uint64(metadata.length);
  for (const [key, value] of metadata) {
    header.string(key);
    writeMetadataValue(header, value);
  }
  const byteLengths = content.tensors.map((tensor) => tensorByteLength(tensor.type, tensor.dimensions));
  let dataOffset = 0;
  content.tensors.forEach((tensor, index) => {
    header.string(tensor.name);
    header.uint32(tensor.dimensions.length);
    for (const dimension of tensor.dimensions) header.uint64(dimension);
    header.uint32(ggmlTypeIds[tensor.type]);
    header.uint64(dataOffset);
    dataOffset += alignUp(byteLengths[index]!, alignment);
  });
  header.padTo(alignment);

  const handle = await open(filePath, "w");
  try {
    await writeAll(handle, header.bytes());
    let fileSize = header.length;
    for (const [index, tensor] of content.tensors.entries()) {
      const data = tensor.produceData();
      if (data.length !== byteLengths[index]) {
        throw new Error(
          `tensor ${tensor.name}: produced ${data.length} bytes, expected ${byteLengths[index]}`,
        );
      }
      await writeAll(handle, data);
      const padding = alignUp(data.length, alignment) - data.length;
      if (padding > 0) await writeAll(handle, new Uint8Array(padding));
      fileSize += data.length + padding;
    }
    await handle.sync();
    return fileSize;
  } finally {
    await handle.close();
  }
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}
