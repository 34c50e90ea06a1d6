/**
 * Functions of a module that loads at the first call of one of them, not when the module that
 * imports them loads: a worker does not pay at start (memory, seconds) for libraries only some
 * configs use — OpenPGP (~14 MB) when no export or inbox uses it. Only an import line changes:
 *
 *   import type * as Delivery from '../pgp/delivery';
 *   const { pgpDeliveryFor } = lazyFunctions(() => require('../pgp/delivery') as typeof Delivery, ['pgpDeliveryFor']);
 */
type FunctionKeys<M> = { [K in keyof M]: M[K] extends (...args: never[]) => unknown ? K : never }[keyof M];

export function lazyFunctions<M, K extends FunctionKeys<M>>(load: () => M, names: readonly K[]): Pick<M, K> {
  const out: Partial<Record<K, unknown>> = {};
  for (const name of names) out[name] = (...args: unknown[]) => (load()[name] as (...a: unknown[]) => unknown)(...args);
  return out as Pick<M, K>;
}
