import { randomInt } from 'node:crypto';
import { type MessageQueue, TopicRouteData } from '@tern/protocol';

/*
 * What producers and consumers derive from a TopicRouteData (GET_ROUTEINFO_BY_TOPIC), after RocketMQ's
 * MQClientInstance.topicRouteData2TopicPublishInfo / topicRouteData2TopicSubscribeInfo.
 */

export type { MessageQueue } from '@tern/protocol';

/** Topic / broker permission bits (PermName). */
export const Perm = { PRIORITY: 8, READ: 4, WRITE: 2, INHERIT: 1 } as const;

/** brokerId of a master (MixAll.MASTER_ID). */
export const MASTER_BROKER_ID = 0;

export function isWriteable(perm: number): boolean {
  return (perm & Perm.WRITE) === Perm.WRITE;
}

export function isReadable(perm: number): boolean {
  return (perm & Perm.READ) === Perm.READ;
}

/** "topic@brokerName@queueId", a map key for a queue. */
export function messageQueueKey(queue: MessageQueue): string {
  return `${queue.topic}@${queue.brokerName}@${queue.queueId}`;
}

function byBrokerName<T extends { brokerName: string }>(a: T, b: T): number {
  return a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : 0;
}

/** A deep copy with queueDatas and brokerDatas sorted by brokerName (the form kept in route tables). */
export function normalizeRoute(route: TopicRouteData): TopicRouteData {
  const copy = TopicRouteData.decode(TopicRouteData.encode(route));
  copy.queueDatas.sort(byBrokerName);
  copy.brokerDatas.sort(byBrokerName);
  return copy;
}

/** True when two routes carry the same data (compares normalised encodings). */
export function routesEqual(a: TopicRouteData | undefined, b: TopicRouteData | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return TopicRouteData.stringify(normalizeRoute(a)) === TopicRouteData.stringify(normalizeRoute(b));
}

/**
 * The queues a producer may send to (Java's TopicPublishInfo), with the round-robin index RocketMQ keeps per topic
 * (ThreadLocalIndex: starts at a random value).
 */
export class TopicPublishInfo {
  /** Built from orderTopicConf ("brokerA:8;brokerB:8") rather than queueDatas. */
  readonly orderTopic: boolean;
  /** Writable queues of brokers that have a master, sorted by brokerName then queueId. */
  readonly messageQueues: readonly MessageQueue[];
  readonly route: TopicRouteData;
  private sendWhichQueue: number;

  constructor(readonly topic: string, route: TopicRouteData, startIndex: number = randomInt(0, 0x7fffffff)) {
    this.route = route;
    const queues: MessageQueue[] = [];
    const orderConf = route.orderTopicConf;
    if (orderConf !== undefined && orderConf.length > 0) {
      this.orderTopic = true;
      for (const item of orderConf.split(';')) {
        const [brokerName, count] = item.split(':');
        const nums = Number(count);
        if (brokerName === undefined || brokerName.length === 0 || !Number.isInteger(nums) || nums < 0) continue;
        for (let queueId = 0; queueId < nums; queueId++) queues.push({ topic, brokerName, queueId });
      }
    } else {
      this.orderTopic = false;
      for (const queueData of [...route.queueDatas].sort(byBrokerName)) {
        if (!isWriteable(queueData.perm)) continue;
        const brokerData = route.brokerDatas.find((b) => b.brokerName === queueData.brokerName);
        if (brokerData === undefined || brokerData.brokerAddrs[String(MASTER_BROKER_ID)] === undefined) continue;
        for (let queueId = 0; queueId < queueData.writeQueueNums; queueId++) queues.push({ topic, brokerName: queueData.brokerName, queueId });
      }
    }
    this.messageQueues = Object.freeze(queues.map((q) => Object.freeze(q)));
    this.sendWhichQueue = startIndex;
  }

  /** At least one queue to send to. */
  ok(): boolean {
    return this.messageQueues.length > 0;
  }

  /** The next value of the round-robin index (non-negative, wraps). */
  nextIndex(): number {
    const index = this.sendWhichQueue;
    this.sendWhichQueue = index >= 0x7fffffff ? 0 : index + 1;
    return index;
  }

  /** Write queue count of `brokerName` in this route (0 if none). */
  writeQueueNums(brokerName: string): number {
    return this.route.queueDatas.find((q) => q.brokerName === brokerName)?.writeQueueNums ?? 0;
  }

  /** Plain round robin (TopicPublishInfo.selectOneMessageQueue()). Null when there is no queue. */
  selectOneMessageQueue(): MessageQueue | null {
    const count = this.messageQueues.length;
    if (count === 0) return null;
    return this.messageQueues[this.nextIndex() % count] ?? null;
  }

  /**
   * Round robin avoiding `lastBrokerName` (TopicPublishInfo.selectOneMessageQueue(lastBrokerName)): a retry goes to
   * another broker when the topic has one.
   */
  selectAvoiding(lastBrokerName: string | null): MessageQueue | null {
    if (lastBrokerName === null) return this.selectOneMessageQueue();
    const count = this.messageQueues.length;
    for (let i = 0; i < count; i++) {
      const queue = this.messageQueues[this.nextIndex() % count];
      if (queue !== undefined && queue.brokerName !== lastBrokerName) return queue;
    }
    return this.selectOneMessageQueue();
  }
}

/** The queues a consumer may pull from: readQueueNums queues of every readable queueData (topicRouteData2TopicSubscribeInfo). */
export function subscribeQueues(topic: string, route: TopicRouteData): MessageQueue[] {
  const queues: MessageQueue[] = [];
  for (const queueData of [...route.queueDatas].sort(byBrokerName)) {
    if (!isReadable(queueData.perm)) continue;
    for (let queueId = 0; queueId < queueData.readQueueNums; queueId++) queues.push({ topic, brokerName: queueData.brokerName, queueId });
  }
  return queues;
}
