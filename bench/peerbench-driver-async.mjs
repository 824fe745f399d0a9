// peerbench peer: Tern with ASYNC_FLUSH. Run from ../shared/peerbench:
//   node run.mjs --peer <repo>/bench/peerbench-driver-async.mjs,nats,redis,rabbitmq
import { ternPeer } from './peerbench-tern.mjs';

export default ternPeer({
  name: 'tern-async',
  flushDiskType: 'ASYNC_FLUSH',
  durability:
    'SEND_OK once the message is written to the CommitLog file (OS page cache, survives a broker crash); fdatasync ' +
    'every 500 ms, so a power loss can lose up to ~500 ms of acknowledged messages.',
});
