/** Objects sorted by namespace/name, so nothing depends on the order a source listed them in. */
export function byName<T extends { metadata?: { namespace?: string; name?: string } }>(list: readonly T[]): T[] {
  const key = (o: T): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  return [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
