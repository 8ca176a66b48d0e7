import { Component, type ReactNode } from 'react';
import { saveDocument } from '../document/load';
import { useEditor } from './store';
import { downloadText } from './files';

/** One per canvas node: a node that fails to render shows a small card instead of taking the canvas down. */
export class NodeBoundary extends Component<{ id: string; children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  render() {
    if (this.state.error) {
      return (
        <div className="pb-node pb-node-error" role="alert">
          <div className="pb-node-head">
            <span className="pb-node-title">{this.props.id}</span>
          </div>
          <div className="pb-node-message">This node could not be drawn: {this.state.error.message}</div>
          <button type="button" className="pb-small" onClick={() => this.setState({ error: null })}>
            Try again
          </button>
        </div>
      );
    }
    return this.props.children;
  }
}

/** The whole editor: on a crash, offer the graph as a file so no work is lost. */
export class AppBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  render() {
    if (!this.state.error) return this.props.children;
    const download = () => {
      const doc = useEditor.getState().doc;
      downloadText(`${doc.name || 'graph'}.json`, saveDocument(doc), 'application/json');
    };
    return (
      <div className="pb-crash" role="alert">
        <h1>Something went wrong in the editor</h1>
        <p>{this.state.error.message}</p>
        <p>Your graph is still in memory. Download it, then reload the page.</p>
        <div className="pb-row">
          <button type="button" className="pb-primary" onClick={download}>
            Download graph
          </button>
          <button type="button" onClick={() => location.reload()}>
            Reload
          </button>
          <button type="button" onClick={() => this.setState({ error: null })}>
            Try to continue
          </button>
        </div>
      </div>
    );
  }
}
