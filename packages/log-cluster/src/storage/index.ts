export * from './types.ts';
export { crc32c } from './crc32c.ts';
export { FileDisk } from './file-disk.ts';
export { MemDisk, type MemDiskOptions } from './mem-disk.ts';
export { Journal, PartitionLog, type JournalOptions, type OpenedJournal, type ReplayObserver, RECORD_BYTES_MAX, ENTRY_DATA_BYTES_MAX, PARTITION_MAX, STATE_LOG_BYTES_MAX } from './journal.ts';
