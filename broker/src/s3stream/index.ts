/** Public surface of the S3Stream storage library. Kafka-free: never import broker code here. */
export type {
  AppendResult,
  FetchedBatch,
  KvStore,
  StorageStats,
  Stream,
  StreamClient,
  StreamClientOptions,
  StreamInfo,
} from './api.js';
export { MetadataFencedError, OffsetOutOfRangeError, StreamClosedError, StreamFencedError } from './api.js';
export type { ByteRange, ObjectInfo, ObjectStore } from './object-store/object-store.js';
export { ObjectNotFoundError } from './object-store/object-store.js';
export { createObjectStore, ObjectStoreUrlError } from './object-store/create.js';
export { FileObjectStore } from './object-store/file.js';
export { MemoryObjectStore } from './object-store/memory.js';
export { ObjectStoreConfigError, S3ObjectStore } from './object-store/s3.js';
export type { S3ObjectStoreOptions } from './object-store/s3.js';
export { InstrumentedObjectStore, TransientObjectStoreError, isTransient } from './object-store/instrumented.js';
export type { ObjectStoreCounters, RetryPolicy } from './object-store/instrumented.js';
export { openStreamClient } from './stream-client.js';
