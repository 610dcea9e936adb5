/**
 * nbshare for JupyterLab 4 and Notebook 7: a Share button on the notebook toolbar, the
 * command nbshare:share (palette, File menu) for the current notebook, and nbshare:share-files
 * in the file browser's context menu for a notebook, several files or a folder (a bundle).
 * The work happens in the nbshare server extension; see ./api.ts.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, ToolbarButton } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { shareIcon } from '@jupyterlab/ui-components';
import { IDisposable } from '@lumino/disposable';

import { share } from './dialog';

const SHARE = 'nbshare:share';
const SHARE_FILES = 'nbshare:share-files';

function shareNotebook(panel: NotebookPanel): Promise<void> {
  const context = panel.context;
  const name = context.localPath.split('/').pop() || context.localPath;
  return share(`Share ${name} by link.`, [context.localPath], async () => {
    await context.ready;
    await context.save(); // the link shows what the user sees, unsaved edits included
  });
}

class ShareButton implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  createNew(panel: NotebookPanel): IDisposable {
    const button = new ToolbarButton({
      className: 'nbshare-share-button',
      icon: shareIcon,
      label: 'Share',
      tooltip: 'Share this notebook by link (nbshare)',
      onClick: () => void shareNotebook(panel)
    });
    if (!panel.toolbar.insertBefore('spacer', 'nbshare-share', button)) {
      panel.toolbar.addItem('nbshare-share', button);
    }
    return button;
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbshare:plugin',
  description: 'Share notebooks, files and folders by link with your nbshare server.',
  autoStart: true,
  optional: [INotebookTracker, ICommandPalette, IMainMenu, IDefaultFileBrowser, IDocumentManager],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker | null,
    palette: ICommandPalette | null,
    menu: IMainMenu | null,
    browser: IDefaultFileBrowser | null,
    documents: IDocumentManager | null
  ) => {
    const current = () => notebooks?.currentWidget ?? null;
    app.commands.addCommand(SHARE, {
      label: 'Share Notebook by Link (nbshare)…',
      caption: 'Upload this notebook to your nbshare server and get a link',
      icon: shareIcon,
      isEnabled: () => current() !== null,
      execute: () => {
        const panel = current();
        return panel ? shareNotebook(panel) : undefined;
      }
    });
    if (notebooks) {
      app.docRegistry.addWidgetExtension('Notebook', new ShareButton());
    }
    palette?.addItem({ command: SHARE, category: 'Notebook Operations' });
    menu?.fileMenu.addGroup([{ command: SHARE }], 40);

    if (browser) {
      const selected = () => Array.from(browser.selectedItems()).map(item => item.path);
      app.commands.addCommand(SHARE_FILES, {
        label: () => {
          const items = Array.from(browser.selectedItems());
          if (items.length === 1 && items[0].type === 'directory') {
            return 'Share Folder by Link (nbshare)…';
          }
          return items.length > 1 ? 'Share Files by Link (nbshare)…' : 'Share by Link (nbshare)…';
        },
        icon: shareIcon,
        isEnabled: () => selected().length > 0,
        execute: () => {
          const paths = selected();
          const what =
            paths.length === 1 ? `Share ${paths[0] || 'this folder'} by link.` : `Share these ${paths.length} files as one bundle.`;
          return share(what, paths, async () => {
            // Open notebooks with unsaved edits are saved: the bundle holds what the user sees.
            for (const path of paths) {
              const widget = documents?.findWidget(path);
              const context = widget ? documents?.contextForWidget(widget) : undefined;
              if (context && context.model.dirty) {
                await context.save();
              }
            }
          });
        }
      });
      app.contextMenu.addItem({ command: SHARE_FILES, selector: '.jp-DirListing-item[data-isdir]', rank: 11 });
    }
  }
};

export default plugin;
