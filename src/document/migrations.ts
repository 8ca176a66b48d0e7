/**
 * Up-only document migrations. `from: v` turns a raw version-v document into version v + 1; the
 * loader sets `version` afterwards. Each migration gets a fixture under test/fixtures/documents and
 * a test that loads it. Version 1 is the first released format, so the list is empty for now.
 */
export interface DocumentMigration {
  from: number;
  description: string;
  migrate: (raw: Record<string, unknown>) => Record<string, unknown>;
}

export const DOCUMENT_MIGRATIONS: readonly DocumentMigration[] = [];
