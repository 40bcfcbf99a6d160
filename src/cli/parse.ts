/**
 * Strict parsers for option values: a value that is not what the option
 * expects is a user error with one clear line, never a silent NaN.
 */
import { DdnError } from '../errors.js';

export function parseInteger(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
      throw new DdnError(`invalid --${name} '${text}': expected an integer ${range}`);
    }
    return value;
  };
}

export function parseNumber(name: string, min: number, max: number, { minInclusive = true } = {}) {
  return (text: string): number => {
    const value = Number(text);
    const aboveMin = minInclusive ? value >= min : value > min;
    if (text.trim() === '' || !Number.isFinite(value) || !aboveMin || value > max) {
      const open = minInclusive ? '[' : '(';
      throw new DdnError(`invalid --${name} '${text}': expected a number in ${open}${min}, ${max}]`);
    }
    return value;
  };
}

export function parseChoice<T extends string>(name: string, choices: readonly T[]) {
  return (text: string): T => {
    if (!(choices as readonly string[]).includes(text)) {
      throw new DdnError(`invalid --${name} '${text}': expected one of ${choices.join(', ')}`);
    }
    return text as T;
  };
}

/**
 * Accepts an output path only with the given extension, so that a slip such
 * as `--out README.md` cannot replace an unrelated file with image data.
 */
export function parseOutputFile(name: string, extension: string) {
  return (text: string): string => {
    if (!text.toLowerCase().endsWith(extension)) {
      throw new DdnError(`invalid --${name} '${text}': expected a file name ending in ${extension}`);
    }
    return text;
  };
}
