import { type RemotingCommand, isOneway, isResponse, requestCodeName, responseCodeInfo } from '@tern/protocol';

/** Receives one line per command a channel reads or writes, when tracing is on. */
export type TraceSink = (line: string) => void;

/**
 * One trace line: direction, peer, kind, code (with its name), opaque, flag, serialisation, remark, extFields and
 * body size. A debugging aid for protocol work against third-party clients; off unless a sink is configured.
 */
export function traceLine(direction: 'in' | 'out', peer: string, command: RemotingCommand): string {
  const response = isResponse(command);
  const kind = response ? 'response' : isOneway(command) ? 'oneway' : 'request';
  const name = response ? responseCodeInfo(command.code)?.name : requestCodeName(command.code);
  const remark = command.remark === null ? '' : ` remark=${JSON.stringify(command.remark)}`;
  return `${new Date().toISOString()} ${direction} ${peer} ${kind} code=${command.code}${name ? `(${name})` : ''}` +
    ` opaque=${command.opaque} flag=${command.flag} ser=${command.serializeType === 0 ? 'JSON' : 'ROCKETMQ'} version=${command.version}` +
    `${remark} ext=${JSON.stringify(command.extFields)} body=${command.body?.length ?? 0}`;
}
