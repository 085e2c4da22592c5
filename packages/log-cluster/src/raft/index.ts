export {
  Raft,
  message,
  type RaftOptions,
  MAX_COMMITTED_BYTES_PER_READY,
  MAX_COMMITTED_ENTRIES_PER_READY,
  MAX_ENTRIES_PER_APPEND,
  MAX_ENTRY_DATA_BYTES,
  MAX_PENDING_MESSAGES,
  TRANSFER_CAMPAIGN,
} from './raft.ts';
export { MemoryRaftStorage } from './memory-storage.ts';
export * from './types.ts';
