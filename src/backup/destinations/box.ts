import type { Readable } from 'node:stream';
import type { BackupDestinationConfig } from '../config';
import type { BackupDestination, DestEntry, PublishOpts, Published } from './types';

/** Box.com (box-typescript-sdk-gen): filled in by the Box priority; refuses clearly until then. */
export class BoxDestination implements BackupDestination {
  readonly kind = 'box' as const;
  readonly label: string;
  constructor(private readonly cfg: BackupDestinationConfig, _fetch?: typeof fetch) {
    this.label = `box://folder/${cfg.folder_id}`;
  }
  describe(rel: string): string {
    return `${this.label}/${rel}`;
  }
  private unsupported(): never {
    throw new Error('the Box destination is not available in this build');
  }
  list(_dir: string): Promise<DestEntry[]> {
    this.unsupported();
  }
  publish(_dir: string, _name: string, _source: Readable, _opts: PublishOpts): Promise<Published> {
    this.unsupported();
  }
  read(_dir: string, _name: string): Promise<Readable> {
    this.unsupported();
  }
  remove(_dir: string, _name: string): Promise<void> {
    this.unsupported();
  }
  removeFolder(_dir: string): Promise<void> {
    this.unsupported();
  }
  isTempName(): boolean {
    return false;
  }
}
