/** Shared logic of DescribeConfigs / AlterConfigs / IncrementalAlterConfigs. */
import { ErrorCode } from '../../protocol/errors.js';
import type { BrokerContext } from '../context.js';
import { BROKER_CONFIGS, brokerConfigDef } from './broker-config.js';
import { TOPIC_CONFIGS, topicConfigDef, type ConfigType } from './topic-config.js';

export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;
export const ConfigSource = {
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;
const ConfigTypeCode: Record<ConfigType | 'int' | 'long' | 'boolean' | 'string', number> = {
  boolean: 1,
  string: 2,
  int: 3,
  long: 5,
  list: 7,
};

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: { name: string; value: string | null; source: number }[];
  configType: number;
  documentation: string | null;
}

export interface DescribeResult {
  errorCode: number;
  errorMessage: string | null;
  configs: DescribedConfig[];
}

export function describeResource(
  broker: BrokerContext,
  resourceType: number,
  resourceName: string,
  keys: readonly string[] | null,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): DescribeResult {
  const wanted = (name: string) => keys === null || keys.length === 0 || keys.includes(name);
  if (resourceType === ResourceType.TOPIC) {
    const topic = broker.topicAdmin.registry.get(resourceName);
    if (!topic) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic "${resourceName}" does not exist`, configs: [] };
    const configs = TOPIC_CONFIGS.filter((d) => wanted(d.name)).map((d): DescribedConfig => {
      const override = topic.configs[d.name];
      const brokerValue = d.brokerKey ? broker.config.get(d.brokerKey) : undefined;
      const brokerOverridden = d.brokerKey ? !broker.config.isDefault(d.brokerKey) : false;
      const source =
        override !== undefined ? ConfigSource.DYNAMIC_TOPIC_CONFIG : brokerOverridden ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG;
      const synonyms: DescribedConfig['synonyms'] = [];
      if (includeSynonyms) {
        if (override !== undefined) synonyms.push({ name: d.name, value: override, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
        if (d.brokerKey && brokerOverridden) synonyms.push({ name: d.brokerKey, value: brokerValue ?? null, source: ConfigSource.STATIC_BROKER_CONFIG });
        if (d.brokerKey) synonyms.push({ name: d.brokerKey, value: d.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
      }
      return {
        name: d.name,
        value: override ?? brokerValue ?? d.defaultValue,
        readOnly: false,
        isDefault: source === ConfigSource.DEFAULT_CONFIG,
        configSource: source,
        isSensitive: false,
        synonyms,
        configType: ConfigTypeCode[d.type],
        documentation: includeDocumentation ? d.doc : null,
      };
    });
    return { errorCode: 0, errorMessage: null, configs };
  }
  if (resourceType === ResourceType.BROKER) {
    if (resourceName !== '' && resourceName !== String(broker.node.nodeId)) {
      return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `broker ${resourceName} is not this broker (${broker.node.nodeId})`, configs: [] };
    }
    const configs = BROKER_CONFIGS.filter((d) => wanted(d.name)).map((d): DescribedConfig => {
      const isDefault = broker.config.isDefault(d.name);
      const source = isDefault ? ConfigSource.DEFAULT_CONFIG : ConfigSource.STATIC_BROKER_CONFIG;
      return {
        name: d.name,
        value: broker.config.get(d.name),
        readOnly: true,
        isDefault,
        configSource: source,
        isSensitive: false,
        synonyms: includeSynonyms ? [{ name: d.name, value: broker.config.get(d.name), source }] : [],
        configType: ConfigTypeCode[d.type],
        documentation: includeDocumentation ? d.doc : null,
      };
    });
    return { errorCode: 0, errorMessage: null, configs };
  }
  return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `config resource type ${resourceType} is not supported`, configs: [] };
}

export function brokerAlterRefusal(name: string): { errorCode: number; errorMessage: string } {
  return {
    errorCode: ErrorCode.INVALID_REQUEST,
    errorMessage: `broker configs are static: set "${name}" in the broker's config file and restart${brokerConfigDef(name) ? '' : ' (unknown key)'}`,
  };
}

export function isKnownTopicConfig(name: string): boolean {
  return topicConfigDef(name) !== undefined;
}
