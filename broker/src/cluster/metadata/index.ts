/**
 * The S3Stream metadata channel over internal RPC: the controller serves its metadata owner
 * (serveMetadataChannel), every node's stream client reaches it through RemoteMetadataChannel,
 * which follows the controller a ControllerLocator names.
 */
export { serveMetadataChannel, type ServeMetadataOptions, type ServedMetadataOwner } from './server.js';
export {
  MetadataRemoteError,
  MetadataUnavailableError,
  RemoteMetadataChannel,
  type RemoteMetadataChannelOptions,
} from './remote-channel.js';
export { SettableControllerLocator, describeController, type ControllerAddress, type ControllerLocator } from './locator.js';
export { METADATA_ERROR, METADATA_RPC_KEY_MAX, METADATA_RPC_KEY_MIN } from './protocol.js';
