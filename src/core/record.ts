/**
 * Records keyed by outside ids (task ids come from plan files) must not trip over
 * `Object.prototype`: `rec['constructor']` or `rec['__proto__']` would read or write the
 * prototype. These helpers only ever see own properties.
 */

/** An id-keyed record of plain JSON values. */
export type IdRecord<V> = Record<string, V>;

/**
 * The own value at `key`, or undefined.
 *
 * @example
 * getOwn({}, 'constructor'); // undefined
 */
export function getOwn<V>(record: IdRecord<V>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * Sets an own property, even for `__proto__`.
 *
 * @example
 * const r: IdRecord<number> = {}; setOwn(r, '__proto__', 1); Object.keys(r); // ['__proto__']
 */
export function setOwn<V>(record: IdRecord<V>, key: string, value: V): void {
  if (key === '__proto__') {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    record[key] = value;
  }
}
