/** Loaded only when the code panel opens (React.lazy), so monaco stays out of the initial bundle. */
import Editor, { loader } from '@monaco-editor/react';
import * as monaco from 'monaco-editor/editor/editor.api';
import 'monaco-editor/languages/definitions/typescript/register';

// @monaco-editor/react would fetch monaco from a CDN; use the bundled copy instead.
loader.config({ monaco });

export default function CodeEditor({ code, dark }: { code: string; dark: boolean }) {
  return (
    <Editor
      value={code}
      language="typescript"
      theme={dark ? 'vs-dark' : 'vs'}
      options={{
        readOnly: true,
        domReadOnly: true,
        minimap: { enabled: false },
        fontSize: 12.5,
        lineNumbers: 'on',
        scrollBeyondLastLine: false,
        wordWrap: 'off',
        renderLineHighlight: 'none',
        automaticLayout: true,
        editContext: false,
      }}
      loading={<div className="pb-muted pb-pad">Loading the code view…</div>}
    />
  );
}
