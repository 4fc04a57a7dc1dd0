/**
 * herd's instance labels on a Kubernetes object. A Kubernetes label value is at most 63 characters
 * of `[A-Za-z0-9._-]`, so the digests (`sha256:…`, 71 characters) cannot be labels: every herd label
 * travels whole in one annotation, and the ones a selector needs (managed-by, service, revision)
 * are labels as well. Reading an instance back takes the annotation, and checks that the selectable
 * labels agree with it, so an edited annotation cannot move a pod to another service.
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
 */
import { instanceLabels } from '../engine.js';

/** The annotation holding every herd label of the object, as compact JSON. */
export const herdLabelsAnnotation = 'dev.herd.labels';

/** The labels a selector matches on: each herd instance has them, with label-safe values. */
export const selectableLabels = [instanceLabels.managedBy, instanceLabels.service, instanceLabels.revision];

const labelValue = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const labelName =
  /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** True when `name: value` may be a Kubernetes label as it is. */
export function isKubernetesLabel(name: string, value: string): boolean {
  return labelName.test(name) && labelValue.test(value);
}

/**
 * The metadata of an object carrying `labels` (as `labelsFor` made them): the labels Kubernetes can
 * hold as labels, and all of them in the annotation.
 */
export function kubernetesMetadataFor(labels: Readonly<Record<string, string>>): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  const selectable = Object.entries(labels).filter(([name, value]) => isKubernetesLabel(name, value));
  return {
    labels: Object.fromEntries(selectable),
    annotations: { [herdLabelsAnnotation]: JSON.stringify(labels) },
  };
}

/**
 * herd's labels of an object read from the API (untrusted): the annotation's map, when it is a
 * map of strings whose selectable labels agree with the object's labels; undefined otherwise.
 */
export function herdLabelsOf(metadata: {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}): Record<string, string> | undefined {
  const text = metadata.annotations?.[herdLabelsAnnotation];
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (!entries.every(([, value]) => typeof value === 'string')) return undefined;
  const labels = Object.fromEntries(entries) as Record<string, string>;
  const agrees = selectableLabels.every((name) => labels[name] === metadata.labels?.[name]);
  return agrees ? labels : undefined;
}
