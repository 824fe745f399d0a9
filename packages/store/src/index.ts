export type { FileSystem, StoreFile, OpenOptions, DiskUsage } from './io/file-system.js';
export { writeFileAtomic, readFileOrNull } from './io/file-system.js';
export { NodeFileSystem } from './io/node-file-system.js';
