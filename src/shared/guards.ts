// Small hand-written runtime checks for messages crossing a process boundary (no schema library:
// the shapes are few and fixed). A Check looks at one value and says what is wrong with it, or
// nothing; object() and messageGuard() compose them, and the types below make every field of a
// message listed, so a field added to a message type without its check does not compile.
// They check shapes (a string, a number, one of a list), not meaning: the engine still says which
// layer or class does not exist, with its own clear message.

import { LensError } from './errors';

/** Undefined when `value` fits; else what is wrong, naming where (`request.layer is 3, not a string`). */
export type Check = (value: unknown, path: string) => string | undefined;

/** A readable short form of a value for an error message (never the whole of a large value). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'a list';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function expect(test: (value: unknown) => boolean, what: string): Check {
  return (value, path) => (test(value) ? undefined : `${path} is ${describeValue(value)}, not ${what}`);
}

export const string: Check = expect((v) => typeof v === 'string', 'a string');
export const nonEmptyString: Check = expect((v) => typeof v === 'string' && v.length > 0, 'a non-empty string');
export const number: Check = expect((v) => typeof v === 'number', 'a number');
export const boolean: Check = expect((v) => typeof v === 'boolean', 'true or false');
/** Anything (a value passed on as is, e.g. a worker's own start data). */
export const anything: Check = () => undefined;

export function oneOf(values: readonly string[]): Check {
  return expect((v) => typeof v === 'string' && values.includes(v), `one of ${values.join(', ')}`);
}

/** A field that may be left out (or undefined). */
export function optional(check: Check): Check {
  return (value, path) => (value === undefined ? undefined : check(value, path));
}

export function either(first: Check, second: Check): Check {
  return (value, path) => {
    const problem = first(value, path);
    return problem === undefined || second(value, path) === undefined ? undefined : problem;
  };
}

export function arrayOf(item: Check): Check {
  return (value, path) => {
    if (!Array.isArray(value)) {
      return `${path} is ${describeValue(value)}, not a list`;
    }
    for (let i = 0; i < value.length; i++) {
      const problem = item(value[i], `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  };
}

/** A list of exactly `length` numbers (a shape). */
export function numberTuple(length: number): Check {
  return (value, path) => {
    const problem = arrayOf(number)(value, path);
    if (problem) return problem;
    return (value as unknown[]).length === length ? undefined : `${path} has ${(value as unknown[]).length} entries, not ${length}`;
  };
}

/** A typed array of this kind (pictures and batches travel as typed arrays, never as JSON lists). */
export function typedArray(kind: { new (length: number): ArrayBufferView; readonly name: string }): Check {
  return expect((v) => v instanceof kind, `a ${kind.name}`);
}

/** Every key of `T` (but a message's `type` and its phantom reply type) with its check. */
export type FieldChecks<T> = { [K in Exclude<keyof T, 'type' | '__reply'>]-?: Check };

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

/** An object whose listed fields pass their checks (other fields are left alone). */
export function object<T>(fields: FieldChecks<T>): Check {
  return (value, path) => {
    if (!isRecord(value)) {
      return `${path} is ${describeValue(value)}, not an object`;
    }
    for (const [key, check] of Object.entries(fields) as [string, Check][]) {
      const problem = check(value[key], `${path}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  };
}

/** The checks of each message of the union `T`, by its type. */
export type MessageChecks<T extends { type: string }> = { [K in T['type']]: FieldChecks<Extract<T, { type: K }>> };

/** A malformed message: `where` names the boundary, `problem` the field. Thrown by messageGuard. */
export class MalformedMessageError extends LensError {
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${where}: malformed message (${problem}); it was ignored.`, 'invalid-message', 'MalformedMessageError');
  }
}

/**
 * The validator of one boundary: returns the body as `T` when it is one of the messages `checks`
 * lists and its fields pass, else throws a MalformedMessageError naming `where` and the field.
 */
export function messageGuard<T extends { type: string }>(where: string, checks: MessageChecks<T>): (body: unknown) => T {
  const byType = checks as unknown as Record<string, Record<string, Check>>;
  return (body: unknown): T => {
    if (!isRecord(body) || typeof body.type !== 'string') {
      throw new MalformedMessageError(where, `the message is ${describeValue(body)} without a type`);
    }
    const fields = Object.prototype.hasOwnProperty.call(byType, body.type) ? byType[body.type] : undefined;
    if (!fields) {
      throw new MalformedMessageError(where, `"${body.type.slice(0, 40)}" is not a message this side knows`);
    }
    const problem = object<Record<string, unknown>>(fields)(body, body.type);
    if (problem) {
      throw new MalformedMessageError(where, problem);
    }
    return body as unknown as T;
  };
}
