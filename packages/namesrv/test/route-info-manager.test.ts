import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TopicRouteData, type TopicConfig, type TopicConfigSerializeWrapper } from '@tern/protocol';
import { RouteInfoManager } from '../src/index.js';

/** A clock the test moves by hand. */
function manualClock(startMs = 1_700_000_000_000): { nowMs(): number; advance(ms: number): void } {
  let now = startMs;
  return { nowMs: () => now, advance: (ms) => { now += ms; } };
}

function topicConfig(topicName: string, queueNums = 4, perm = 6): TopicConfig {
  return { topicName, readQueueNums: queueNums, writeQueueNums: queueNums, perm, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false };
}

function wrapper(topics: TopicConfig[], counter = 1): TopicConfigSerializeWrapper {
  return {
    topicConfigTable: Object.fromEntries(topics.map((t) => [t.topicName, t])),
    dataVersion: { timestamp: 1_700_000_000_000, counter },
  };
}

const MASTER_A = '127.0.0.1:10911';
const SLAVE_A = '127.0.0.1:10921';
const MASTER_B = '127.0.0.1:10931';

function routeJson(routes: RouteInfoManager, topic: string): string | null {
  const route = routes.pickupTopicRouteData(topic);
  return route === null ? null : TopicRouteData.stringify(route);
}

describe('RouteInfoManager', () => {
  it('routes a master\'s topic in the standard JSON form of remoting.md §7.3', () => {
    const routes = new RouteInfoManager({ clock: manualClock() });
    const result = routes.registerBroker('DefaultCluster', MASTER_A, 'broker-a', 0, '127.0.0.1:10912', wrapper([topicConfig('TopicA')]), 1);
    assert.deepEqual(result, { masterAddr: null, haServerAddr: null });
    assert.equal(
      routeJson(routes, 'TopicA'),
      '{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],'
        + '"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}',
    );
    assert.equal(routes.pickupTopicRouteData('Nope'), null);
  });

  it('adds a slave to its group, tells it its master, and ignores the slave\'s topic table', () => {
    const routes = new RouteInfoManager({ clock: manualClock() });
    // A slave registering before its master learns nothing about a master yet.
    assert.deepEqual(routes.registerBroker('DefaultCluster', SLAVE_A, 'broker-a', 1, '127.0.0.1:10922', wrapper([topicConfig('SlaveOnly')]), 2),
      { masterAddr: null, haServerAddr: null });
    assert.equal(routes.pickupTopicRouteData('SlaveOnly'), null, 'slaves never create queue data');
    routes.registerBroker('DefaultCluster', MASTER_A, 'broker-a', 0, '127.0.0.1:10912', wrapper([topicConfig('TopicA')]), 1);
    const result = routes.registerBroker('DefaultCluster', SLAVE_A, 'broker-a', 1, '127.0.0.1:10922', wrapper([topicConfig('TopicA', 8)]), 2);
    assert.deepEqual(result, { masterAddr: MASTER_A, haServerAddr: '127.0.0.1:10912' });
    const route = routes.pickupTopicRouteData('TopicA');
    assert.deepEqual(route?.brokerDatas, [{ cluster: 'DefaultCluster', brokerName: 'broker-a', brokerAddrs: { 0: MASTER_A, 1: SLAVE_A } }]);
    assert.equal(route?.queueDatas[0]?.readQueueNums, 4, 'the slave\'s 8 queues are ignored');
    assert.match(routeJson(routes, 'TopicA')!, /"brokerAddrs":\{"0":"127\.0\.0\.1:10911","1":"127\.0\.0\.1:10921"\}/);
  });

  it('updates queue data when the master changes a topic and removes topics it stops listing', () => {
    const routes = new RouteInfoManager({ clock: manualClock() });
    routes.registerBroker('c', MASTER_A, 'broker-a', 0, '', wrapper([topicConfig('T1'), topicConfig('T2')], 1), 1);
    routes.registerBroker('c', MASTER_B, 'broker-b', 0, '', wrapper([topicConfig('T2')], 1), 2);
    assert.deepEqual(routes.getAllTopicList(), ['T1', 'T2']);

    routes.registerBroker('c', MASTER_A, 'broker-a', 0, '', wrapper([topicConfig('T2', 16, 4)], 2), 1);
    assert.equal(routes.pickupTopicRouteData('T1'), null, 'T1 no longer listed by its only master');
    const t2 = routes.pickupTopicRouteData('T2');
    assert.deepEqual(t2?.queueDatas, [
      { brokerName: 'broker-a', readQueueNums: 16, writeQueueNums: 16, perm: 4, topicSysFlag: 0 },
      { brokerName: 'broker-b', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 },
    ]);
    assert.deepEqual(routes.brokerLiveInfo(MASTER_A)?.dataVersion, { timestamp: 1_700_000_000_000, counter: 2 });

    // broker-a drops T2 too: broker-b still serves it.
    routes.registerBroker('c', MASTER_A, 'broker-a', 0, '', wrapper([], 3), 1);
    assert.deepEqual(routes.pickupTopicRouteData('T2')?.queueDatas.map((q) => q.brokerName), ['broker-b']);
    assert.deepEqual(routes.pickupTopicRouteData('T2')?.brokerDatas.map((b) => b.brokerName), ['broker-b']);
  });

  it('keeps topics when a registration carries no topic table, or when deletion with registration is off', () => {
    const routes = new RouteInfoManager({ clock: manualClock() });
    routes.registerBroker('c', MASTER_A, 'broker-a', 0, '', wrapper([topicConfig('T1')], 1), 1);
    routes.registerBroker('c', MASTER_A, 'broker-a', 0, '', null, 1);
    assert.notEqual(routes.pickupTopicRouteData('T1'), null);
    assert.deepEqual(routes.brokerLiveInfo(MASTER_A)?.dataVersion?.counter, 1, 'a body-less registration keeps the data version');

    const keeping = new RouteInfoManager({ clock: manualClock(), deleteTopicWithBrokerRegistration: false });
    keeping.registerBroker('c', MASTER_A, 'broker-a', 0, '', wrapper([topicConfig('T1')], 1), 1);
    keeping.registerBroker('c', MASTER_A, 'broker-a', 0, '', wrapper([topicConfig('T2')], 2), 1);
    assert.deepEqual(keeping.getAllTopicList(), ['T1', 'T2']);
  });

  it('sorts brokerDatas and queueDatas by brokerName whatever the registration order', () => {
    const routes = new RouteInfoManager({ clock: manualClock() });
    for (const [name, addr] of [['broker-c', '10.0.0.3:10911'], ['broker-a', '10.0.0.1:10911'], ['broker-b', '10.0.0.2:10911']] as const) {
      routes.registerBroker('c', addr, name, 0, '', wrapper([topicConfig('T')]), 1);
    }
    const route = routes.pickupTopicRouteData('T')!;
    assert.deepEqual(route.brokerDatas.map((b) => b.brokerName), ['broker-a', 'broker-b', 'broker-c']);
    assert.deepEqual(route.queueDatas.map((q) => q.brokerName), ['broker-a', 'broker-b', 'broker-c']);
  });

  it('expires a broker not heard from for more than 120 s', () => {
    const clock = manualClock();
    const routes = new RouteInfoManager({ clock });
    routes.registerBroker('c', MASTER_A, 'broker-a', 0, '', wrapper([topicConfig('T1')]), 7);
    routes.registerBroker('c', MASTER_B, 'broker-b', 0, '', wrapper([topicConfig('T1')]), 8);
    clock.advance(60_000);
    routes.registerBroker('c', MASTER_B, 'broker-b', 0, '', wrapper([topicConfig('T1')]), 8); // B heartbeats, A does not
    clock.advance(60_000);
    assert.deepEqual(routes.scanNotActiveBroker(), [], 'exactly 120 s is not expired yet');
    clock.advance(1);
    const expired = routes.scanNotActiveBroker();
    assert.deepEqual(expired.map((b) => [b.brokerAddr, b.channelId]), [[MASTER_A, 7]]);
    assert.deepEqual(routes.liveBrokerAddrs(), [MASTER_B]);
    assert.deepEqual(routes.pickupTopicRouteData('T1')?.brokerDatas.map((b) => b.brokerName), ['broker-b']);
    assert.deepEqual(Object.keys(routes.getBrokerClusterInfo().brokerAddrTable), ['broker-b']);
    clock.advance(120_000);
    routes.scanNotActiveBroker();
    assert.equal(routes.pickupTopicRouteData('T1'), null);
    assert.deepEqual(routes.getBrokerClusterInfo(), { brokerAddrTable: {}, clusterAddrTable: {} });
  });

  it('removes the brokers of a closed connection at once', () => {
    const routes = new RouteInfoManager({ clock: manualClock() });
    routes.registerBroker('c', MASTER_A, 'broker-a', 0, 'ha', wrapper([topicConfig('T1')]), 1);
    routes.registerBroker('c', SLAVE_A, 'broker-a', 1, 'ha', null, 2);
    assert.deepEqual(routes.onChannelDestroy(99), []);
    assert.deepEqual(routes.onChannelDestroy(1), [MASTER_A]);
    // The slave keeps the group (and its routes) alive, without a master.
    assert.deepEqual(routes.pickupTopicRouteData('T1')?.brokerDatas, [{ cluster: 'c', brokerName: 'broker-a', brokerAddrs: { 1: SLAVE_A } }]);
    assert.deepEqual(routes.registerBroker('c', SLAVE_A, 'broker-a', 1, 'ha', null, 2), { masterAddr: null, haServerAddr: null });
    assert.deepEqual(routes.onChannelDestroy(2), [SLAVE_A]);
    assert.equal(routes.pickupTopicRouteData('T1'), null);
    assert.deepEqual(routes.getAllTopicList(), []);
  });

  it('moves an address to its new id when a slave is promoted to master', () => {
    const routes = new RouteInfoManager({ clock: manualClock() });
    routes.registerBroker('c', MASTER_A, 'broker-a', 0, '', wrapper([topicConfig('T1')]), 1);
    routes.registerBroker('c', SLAVE_A, 'broker-a', 1, '', null, 2);
    routes.onChannelDestroy(1);
    routes.registerBroker('c', SLAVE_A, 'broker-a', 0, '', wrapper([topicConfig('T1')]), 2);
    assert.deepEqual(routes.pickupTopicRouteData('T1')?.brokerDatas[0]?.brokerAddrs, { 0: SLAVE_A });
  });

  it('unregisters a broker that shuts down cleanly', () => {
    const routes = new RouteInfoManager({ clock: manualClock() });
    routes.registerBroker('c', MASTER_A, 'broker-a', 0, '', wrapper([topicConfig('T1')]), 1);
    assert.equal(routes.unregisterBroker('c', MASTER_A, 'broker-a', 1), false, 'wrong id');
    assert.equal(routes.unregisterBroker('c', MASTER_A, 'broker-a', 0), true);
    assert.equal(routes.pickupTopicRouteData('T1'), null);
    assert.deepEqual(routes.liveBrokerAddrs(), []);
    assert.deepEqual(routes.getBrokerClusterInfo(), { brokerAddrTable: {}, clusterAddrTable: {} });
  });

  it('keeps two clusters apart', () => {
    const routes = new RouteInfoManager({ clock: manualClock() });
    routes.registerBroker('cluster-1', MASTER_A, 'broker-a', 0, '', wrapper([topicConfig('Shared'), topicConfig('OnlyOne')]), 1);
    routes.registerBroker('cluster-2', MASTER_B, 'broker-b', 0, '', wrapper([topicConfig('Shared'), topicConfig('OnlyTwo')]), 2);
    assert.deepEqual(routes.getTopicsByCluster('cluster-1'), ['OnlyOne', 'Shared']);
    assert.deepEqual(routes.getTopicsByCluster('cluster-2'), ['OnlyTwo', 'Shared']);
    assert.deepEqual(routes.getTopicsByCluster('nope'), []);
    assert.deepEqual(routes.getBrokerClusterInfo(), {
      brokerAddrTable: {
        'broker-a': { cluster: 'cluster-1', brokerName: 'broker-a', brokerAddrs: { 0: MASTER_A } },
        'broker-b': { cluster: 'cluster-2', brokerName: 'broker-b', brokerAddrs: { 0: MASTER_B } },
      },
      clusterAddrTable: { 'cluster-1': ['broker-a'], 'cluster-2': ['broker-b'] },
    });
    assert.deepEqual(routes.pickupTopicRouteData('Shared')?.brokerDatas.map((b) => b.cluster), ['cluster-1', 'cluster-2']);

    assert.equal(routes.deleteTopic('Shared', 'cluster-2'), true);
    assert.deepEqual(routes.pickupTopicRouteData('Shared')?.brokerDatas.map((b) => b.brokerName), ['broker-a']);
    assert.equal(routes.deleteTopic('Shared'), true);
    assert.equal(routes.deleteTopic('Shared'), false);
    assert.deepEqual(routes.getAllTopicList(), ['OnlyOne', 'OnlyTwo']);

    routes.onChannelDestroy(1);
    assert.deepEqual(routes.getBrokerClusterInfo().clusterAddrTable, { 'cluster-2': ['broker-b'] });
    assert.deepEqual(routes.getTopicsByCluster('cluster-1'), []);
  });
});
