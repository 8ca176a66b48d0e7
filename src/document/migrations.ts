/**
 * Up-only document migrations. `from: v` turns a raw version-v document into version v + 1; the
 * loader sets `version` afterwards. Each migration gets a fixture under test/fixtures/documents and
 * a test that loads it.
 */
export interface DocumentMigration {
  from: number;
  description: string;
  migrate: (raw: Record<string, unknown>) => Record<string, unknown>;
}

export const DOCUMENT_MIGRATIONS: readonly DocumentMigration[] = [
  {
    from: 1,
    description:
      'networks and programs: the list of extra networks starts empty; a stray top-level "program" or "networks" key (free data in version 1) moves into meta, where version 2 keeps free data',
    migrate: (raw) => {
      const { networks, program, ...rest } = raw;
      const meta = typeof rest.meta === 'object' && rest.meta !== null && !Array.isArray(rest.meta) ? { ...(rest.meta as Record<string, unknown>) } : {};
      // Version 1 kept unknown top-level fields as free data; version 2 gives these two names a meaning.
      if (networks !== undefined) meta.networksFromVersion1 = networks;
      if (program !== undefined) meta.programFromVersion1 = program;
      return { ...rest, meta, networks: [] };
    },
  },
];
