/** DescribeCluster: v0-1. Brokers of the cluster (standalone: this one) and the controller. */
import { ErrorCode } from '../../protocol/errors.js';
import { DescribeCluster } from '../../protocol/messages/60_describe_cluster.js';
import { defineHandler } from '../handler.js';

const BROKERS_ENDPOINT = 1;

export default defineHandler(DescribeCluster, { min: 0, max: 1 }, (req, _ctx, broker) => {
  if (req.endpointType !== BROKERS_ENDPOINT) {
    return { errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: `endpoint type ${req.endpointType} is not served`, clusterId: broker.clusterId };
  }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    endpointType: BROKERS_ENDPOINT,
    clusterId: broker.clusterId,
    controllerId: broker.cluster.controllerId(),
    brokers: broker.cluster.brokers().map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
  };
});
