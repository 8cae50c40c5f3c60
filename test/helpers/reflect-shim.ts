/**
 * @peculiar/x509 loads tsyringe, which refuses to start without a `Reflect.getMetadata` polyfill. It only
 * stores and reads plain metadata, so this WeakMap-backed shim is enough (instead of adding reflect-metadata).
 * Import it before @peculiar/x509.
 */
type MetadataStore = WeakMap<object, Map<unknown, unknown>>;

const store: MetadataStore = new WeakMap();
const reflect = Reflect as unknown as Record<string, unknown>;

function own(target: object): Map<unknown, unknown> {
  let entries = store.get(target);
  if (!entries) store.set(target, (entries = new Map()));
  return entries;
}

function lookup(key: unknown, target: object | null): unknown {
  for (let current = target; current !== null; current = Object.getPrototypeOf(current) as object | null) {
    const entries = store.get(current);
    if (entries?.has(key)) return entries.get(key);
  }
  return undefined;
}

if (typeof reflect.getMetadata !== 'function') {
  reflect.defineMetadata = (key: unknown, value: unknown, target: object): void => void own(target).set(key, value);
  reflect.getOwnMetadata = (key: unknown, target: object): unknown => store.get(target)?.get(key);
  reflect.getMetadata = (key: unknown, target: object): unknown => lookup(key, target);
  reflect.hasMetadata = (key: unknown, target: object): boolean => lookup(key, target) !== undefined;
  reflect.metadata =
    (key: unknown, value: unknown) =>
    (target: object): void =>
      void own(target).set(key, value);
}

export {};
