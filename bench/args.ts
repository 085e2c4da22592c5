// The benches' checks of their numeric options: a bad value stops the bench before it starts anything,
// naming the option and what it got.

/** `text` as a finite number above 0, or an error naming `option`. */
export function positiveNumber(option: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new Error(`${option} must be a positive number (got ${JSON.stringify(text)})`);
  return value;
}

/** `text` as an integer of at least 1, or an error naming `option`. */
export function positiveInteger(option: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isInteger(value) || value < 1) throw new Error(`${option} must be a positive integer (got ${JSON.stringify(text)})`);
  return value;
}

/** `text` as a finite number of at least 0, or an error naming `option`. */
export function nonNegativeNumber(option: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(value) || value < 0) throw new Error(`${option} must be a number of at least 0 (got ${JSON.stringify(text)})`);
  return value;
}
