import { loadDocumentText, type LoadResult } from '../document/load';
import { nodeTypeLookup } from '../nodes/registry';

/**
 * Loads a saved document with every node type this Patchbay knows. Never throws. (Its own module, so
 * that the editor's file opening does not import the compiler's barrel and with it the emitter.)
 */
export function loadGraph(text: string): LoadResult {
  return loadDocumentText(text, { nodeTypes: nodeTypeLookup });
}
