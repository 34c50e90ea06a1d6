/** The SFTP toolkit shared by the activities and the CLI. */
export { SftpError, isSftpError, toSftpError, redactSecrets, SFTP_ERROR_TYPES, type SftpErrorType, type SftpErrorContext } from './errors';
export { type SftpEndpoint, endpointKey, serverLabel, authKind } from './endpoint';
export { connectSftp, type ConnectOptions } from './connect';
export {
  SftpSession,
  type RemoteEntry,
  type RemoteEntryType,
  type RemoteStat,
  type PublishMode,
  type PublishOptions,
  type PublishResult,
  type HashAlgorithm,
  type NegotiatedAlgorithms,
} from './session';
export { SftpPool, type SftpPoolOptions, type SftpPoolStats } from './pool';
export { writeStreamToHandle, DEFAULT_CHUNK_SIZE, DEFAULT_CONCURRENCY, type PipelinedWriteOptions, type SftpWriteTarget } from './pipelined-writer';
export { assertSafeName, resolveInside, joinRemote } from './paths';
export { fingerprintOf, keyTypeOf, describeHostKey, knownHostsHost, parseHostKeyPin, type HostKeyInfo, type HostKeyPin } from './host-key';
