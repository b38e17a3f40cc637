// Watches a project's files however an editor saves them. Node's recursive
// fs.watch on Linux watches each file, so a file replaced by a rename (how
// many editors save: write a temporary file, rename it over the original)
// is never seen again after the first such save. A watch on each directory
// sees every name created, renamed into, changed or removed in it, and
// survives its files being replaced; directories created later are watched
// as they appear, removed ones are let go.
import { watch, type FSWatcher } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";

/** A running watch; `close()` stops every directory's watcher. */
export interface TreeWatcher {
  close(): void;
  /** Resolves once the directories present at start are watched. */
  readonly ready: Promise<void>;
}

/**
 * Calls `onChange(path)` (relative to `root`, with `/` separators) for every
 * file or directory created, changed, replaced or removed under `root`,
 * except paths `ignored` returns true for (their directories are not entered).
 */
export function watchTree(root: string, ignored: (path: string) => boolean, onChange: (path: string) => void): TreeWatcher {
  const watchers = new Map<string, FSWatcher>();
  let closed = false;
  const rel = (path: string) => relative(root, path).split(sep).join("/");

  const unwatch = (dir: string) => {
    for (const [path, watcher] of watchers) {
      if (path === dir || path.startsWith(dir + sep)) {
        watcher.close();
        watchers.delete(path);
      }
    }
  };

  const add = async (dir: string, reportFiles: boolean): Promise<void> => {
    if (closed || watchers.has(dir)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, (_event, name) => {
        if (name === null) return;
        const path = join(dir, name.toString());
        const shown = rel(path);
        if (ignored(shown)) return;
        onChange(shown);
        // A new directory (or one renamed into place) is watched too; a gone one is let go.
        void stat(path).then(
          (info) => (info.isDirectory() ? add(path, true) : undefined),
          () => unwatch(path),
        );
      });
    } catch {
      return; // gone before it could be watched
    }
    watcher.on("error", () => unwatch(dir));
    watchers.set(dir, watcher);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (ignored(rel(path))) continue;
      if (entry.isDirectory()) await add(path, reportFiles);
      else if (reportFiles) onChange(rel(path));
    }
  };

  const ready = add(root, false);
  return {
    ready,
    close() {
      closed = true;
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
