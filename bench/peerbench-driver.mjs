// peerbench peer: Tern with SYNC_FLUSH (its default). Run from ../shared/peerbench:
//   node run.mjs --peer <repo>/bench/peerbench-driver.mjs,nats,redis-always,rabbitmq-quorum
import { ternPeer } from './peerbench-tern.mjs';

export default ternPeer({
  name: 'tern',
  flushDiskType: 'SYNC_FLUSH',
  durability:
    'SEND_OK only after fdatasync of the CommitLog covers the message (SYNC_FLUSH with group commit: one fdatasync for ' +
    'every send waiting); a power loss loses nothing acknowledged. Messages reach consumers only once fdatasynced.',
});
