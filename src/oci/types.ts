/**
 * OCI wire types, as far as herd reads and writes them.
 * Spec: https://github.com/opencontainers/image-spec/blob/v1.1.0/
 */

export type Digest = `sha256:${string}`;

export const MediaType = {
  imageIndex: 'application/vnd.oci.image.index.v1+json',
  imageManifest: 'application/vnd.oci.image.manifest.v1+json',
  imageConfig: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  empty: 'application/vnd.oci.empty.v1+json',
} as const;

/** descriptor.md: a typed, sized, content-addressed reference. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

/** manifest.md. `subject` and `artifactType` make a manifest a referrer (image-spec 1.1). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType: typeof MediaType.imageManifest;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** image-index.md, also the shape of an image layout's index.json. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType: typeof MediaType.imageIndex;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** config.md */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  config: {
    User?: string;
    ExposedPorts?: Record<string, Record<string, never>>;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    WorkingDir?: string;
    Labels?: Record<string, string>;
    StopSignal?: string;
  };
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
}
