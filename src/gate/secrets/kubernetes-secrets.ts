/**
 * A Kubernetes Secret manifest: every entry under `data:` (base64) or `stringData:` (plain) of a
 * document whose `kind` is `Secret` is a secret, whatever its key is called (`tls.key`,
 * `.dockerconfigjson`, `connection`). After gitleaks `kubernetes-secret-yaml`, which reads `data:`
 * entries of ten or more base64 characters; here `stringData:` too, read line by line, so the
 * work is linear. Templates (`{{ .Values.x }}`), empty values and placeholders, also base64 ones
 * (`cGFzc3dvcmQ=`, "password"), pass.
 */
import type { ContentDetector, SecretMatch } from './detector.js';
import { isPlaceholder } from './placeholders.js';

const yamlFile = (path: string) => /\.ya?ml$/i.test(path);

export const kubernetesSecretDetector: ContentDetector = {
  rule: 'HERD-S021',
  keywords: ['secret'],
  appliesTo: yamlFile,
  find(text) {
    const matches: SecretMatch[] = [];
    for (const document of documents(text)) {
      if (!/^kind:[ \t]*["']?Secret["']?[ \t]*(?:#.*)?$/m.test(document.text)) continue;
      matches.push(
        ...dataEntries(document.text).map((m) => ({ index: m.index + document.offset, length: m.length })),
      );
    }
    return matches;
  },
};

/** YAML documents, split at `---` lines, with where each starts. */
function documents(text: string): { text: string; offset: number }[] {
  const found: { text: string; offset: number }[] = [];
  let offset = 0;
  for (const separator of text.matchAll(/^---[ \t]*$/gm)) {
    found.push({ text: text.slice(offset, separator.index), offset });
    offset = separator.index + separator[0].length;
  }
  found.push({ text: text.slice(offset), offset });
  return found;
}

/** The values under a top-level `data:` or `stringData:` mapping. */
function dataEntries(text: string): SecretMatch[] {
  const matches: SecretMatch[] = [];
  let section: 'data' | 'stringData' | undefined;
  let lineStart = 0;
  for (const line of text.split('\n')) {
    const top = /^(data|stringData):[ \t]*(?:#.*)?$/.exec(line);
    if (top) section = top[1] as 'data' | 'stringData';
    else if (/^\S/.test(line)) section = undefined;
    else if (section) {
      const entry = /^[ \t]+[\w.-]+:[ \t]*(["']?)([^\s"'#|>][^\s"']*)\1[ \t]*(?:#.*)?\r?$/.exec(line);
      const value = entry?.[2];
      if (entry && value && isSecretEntry(value, section)) {
        matches.push({ index: lineStart + line.indexOf(value, line.indexOf(':') + 1), length: value.length });
      }
    }
    lineStart += line.length + 1;
  }
  return matches;
}

function isSecretEntry(value: string, section: 'data' | 'stringData'): boolean {
  if (isPlaceholder(value) || value.startsWith('{{')) return false;
  if (section === 'stringData') return value.length >= 4;
  if (!/^[A-Za-z0-9+/]{10,}={0,3}$/.test(value)) return false;
  // A short decoded value may be a placeholder (`password`); a long one (a URL, a key) is data.
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  return decoded.length > 64 || /[\s/]/.test(decoded) || !isPlaceholder(decoded);
}
