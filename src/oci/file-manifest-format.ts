/**
 * herd's file manifest document, as it is stored with an image: builder/ writes it, gate/ checks it
 * against the layers, trust/ attests it and watch/ compares running instances with it. The format
 * lives here, in a leaf, so that none of them has to import another to read it.
 */

export const fileManifestMediaType = 'application/vnd.herd.file-manifest.v1+json';

export interface FileManifestEntry {
  /** Absolute path in the image. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits including setuid, setgid and sticky, as a number. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  sha256?: string;
  target?: string;
}

export interface FileManifest {
  schemaVersion: 1;
  mediaType: typeof fileManifestMediaType;
  entries: FileManifestEntry[];
}
