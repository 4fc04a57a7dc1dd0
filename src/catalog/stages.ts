/** Release stages, in the only order a digest may move through them. */
import { CatalogError } from './errors.js';

export const stages = ['candidate', 'accepted', 'production'] as const;
export type Stage = (typeof stages)[number];

export function stageRank(stage: Stage): number {
  return stages.indexOf(stage);
}

/** For the CLI and HTTP edges, where the stage arrives as text. */
export function parseStage(text: string): Stage {
  const stage = stages.find((known) => known === text);
  if (!stage) {
    throw new CatalogError(
      'STAGE_INVALID',
      `unknown stage "${text}": expected candidate, accepted or production`,
    );
  }
  return stage;
}
