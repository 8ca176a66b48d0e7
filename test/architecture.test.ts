/**
 * The layers hold (DESIGN.md: document ← nodes ← compiler ← runtime; the editor may import them all;
 * nothing imports the editor): the lint configuration refuses an import that crosses them. Each
 * probe file is linted with the project's own .oxlintrc.json in a scratch copy of the tree layout.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const OXLINT = join(ROOT, 'node_modules', '.bin', 'oxlint');

function lint(file: string, source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-lint-'));
  copyFileSync(join(ROOT, '.oxlintrc.json'), join(dir, '.oxlintrc.json'));
  mkdirSync(dirname(join(dir, file)), { recursive: true });
  writeFileSync(join(dir, file), source);
  try {
    return execFileSync(OXLINT, ['-c', '.oxlintrc.json', file], { cwd: dir, encoding: 'utf8' });
  } catch (err) {
    return `${(err as { stdout?: string }).stdout ?? ''}FAILED`;
  }
}

const refused = (file: string, source: string) => expect(lint(file, source), `${file}: ${source}`).toMatch(/no-restricted-imports[\s\S]*FAILED$/);
const allowed = (file: string, source: string) => expect(lint(file, source), `${file}: ${source}`).not.toMatch(/FAILED$/);

describe('lint holds the architecture', () => {
  it('keeps tfjs and React out of document, nodes and compiler', () => {
    for (const dir of ['src/document', 'src/nodes/layers', 'src/compiler']) {
      refused(`${dir}/probe.ts`, "import * as tf from '@tensorflow/tfjs';\nexport const x = tf;\n");
      refused(`${dir}/probe.ts`, "import { useState } from 'react';\nexport const x = useState;\n");
      refused(`${dir}/probe.ts`, "import { create } from 'zustand';\nexport const x = create;\n");
    }
  });

  it('keeps lower layers from importing higher ones, and everyone from importing the editor', () => {
    refused('src/document/probe.ts', "import { analyze } from '../compiler/infer';\nexport const x = analyze;\n");
    refused('src/nodes/layers/probe.ts', "import { build } from '../../runtime/build';\nexport const x = build;\n");
    refused('src/compiler/probe.ts', "import { build } from '../runtime/build';\nexport const x = build;\n");
    refused('src/runtime/probe.ts', "import { useEditor } from '../editor/store';\nexport const x = useEditor;\n");
    refused('src/cli/probe.ts', "import { createRoot } from 'react-dom/client';\nexport const x = createRoot;\n");
  });

  it('allows what the layers allow', () => {
    allowed('src/compiler/probe.ts', "import { diagnostic } from '../document/diagnostics';\nexport const x = diagnostic;\n");
    allowed('src/runtime/probe.ts', "import * as tf from '@tensorflow/tfjs';\nexport const x = tf;\n");
    allowed('src/editor/probe.ts', "import * as tf from '@tensorflow/tfjs';\nimport { analyze } from '../compiler/infer';\nexport const x = [tf, analyze];\n");
  });
});
