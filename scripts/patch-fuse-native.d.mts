export interface Hunk {
  oldLines: string[];
  newLines: string[];
}
export function parsePatch(text: string): { file: string; hunks: Hunk[] }[];
export function applyHunks(text: string, hunks: Hunk[], name: string): { text: string; applied: number; skipped: number };
export function packageDir(): string | null;
export function patchFileFor(version: string): string;
