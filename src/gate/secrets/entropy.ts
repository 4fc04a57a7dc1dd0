/**
 * Shannon entropy of a string, in bits per character: how unpredictable its characters are given
 * their frequencies. Random base64 is near 6, random hex near 4, English words near 3 and
 * "aaaaaaaa" 0. Short strings score low whatever they are, so callers also ask for a length.
 */
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  const length = [...text].length;
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
